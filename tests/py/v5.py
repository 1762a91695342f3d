"""paho-mqtt 2.x in MQTTv5 mode for the roost 5.0 integration tests. One subcommand per
behaviour; every wait is bounded by --timeout and a failure exits non-zero.

  respond  answers --count requests on --topic: payload "re:<payload>" to the Response Topic,
           Correlation Data echoed, user property responder=paho. Prints READY, then DONE.
  request  subscribes to a fresh reply topic, publishes one request to --topic with Response
           Topic and Correlation Data --corr, prints RESP|topic|payload|correlation|user.
  sub      subscribes to --topic (--subid, --nolocal, --qos); with --self PAYLOAD it publishes
           PAYLOAD to the topic itself and waits for the PUBACK before READY. Then prints
           MSG|topic|payload|subids|retain per message and DONE after --count.
  session  --phase setup: clean start, Session Expiry --expiry, subscribe QoS 1, DISCONNECT.
           --phase resume: Clean Start 0, prints PRESENT|<0/1>, then MSG lines and DONE after
           --count messages.
  will     connects with a QoS 1 will on --topic (payload --payload, Will Delay --delay, Session
           Expiry --expiry), prints READY and dies without DISCONNECT.
"""
import argparse
import os
import sys
import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

ap = argparse.ArgumentParser()
ap.add_argument("cmd", choices=["respond", "request", "sub", "session", "will"])
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--topic", required=True)
ap.add_argument("--id", default="")
ap.add_argument("--qos", type=int, default=1)
ap.add_argument("--count", type=int, default=1)
ap.add_argument("--corr", default="c0ffee")
ap.add_argument("--subid", type=int, default=0)
ap.add_argument("--nolocal", action="store_true")
ap.add_argument("--self", dest="self_payload", default=None)
ap.add_argument("--phase", default="setup")
ap.add_argument("--expiry", type=int, default=0)
ap.add_argument("--delay", type=int, default=0)
ap.add_argument("--payload", default="gone")
ap.add_argument("--timeout", type=float, default=10.0)
args = ap.parse_args()

client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.id,
                     protocol=mqtt.MQTTv5)
connected = threading.Event()
subscribed = threading.Event()
done = threading.Event()
state = {"present": None, "n": 0}
out_lock = threading.Lock()


def out(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def fail(msg, code=1):
    out(msg)
    os._exit(code)


def on_connect(c, userdata, flags, reason_code, properties):
    if reason_code.is_failure:
        fail(f"CONNACK failed {reason_code}", 2)
    state["present"] = int(flags.session_present)
    if args.cmd == "session" and args.phase == "resume":
        # Printed here, on the network thread, before any queued message is dispatched.
        out(f"PRESENT|{state['present']}")
    connected.set()


def on_subscribe(c, userdata, mid, reason_codes, properties):
    if any(rc.is_failure for rc in reason_codes):
        fail(f"SUBACK failed {reason_codes}", 3)
    subscribed.set()


def wait(ev, what):
    if not ev.wait(args.timeout):
        fail(f"TIMEOUT waiting for {what}")


def msg_line(msg):
    props = getattr(msg, "properties", None)
    ids = getattr(props, "SubscriptionIdentifier", []) if props is not None else []
    if isinstance(ids, int):
        ids = [ids]
    ids = ",".join(str(i) for i in sorted(ids))
    payload = msg.payload.decode("utf-8", "replace")
    return f"MSG|{msg.topic}|{payload}|{ids}|{int(msg.retain)}"


client.on_connect = on_connect
client.on_subscribe = on_subscribe

received = []


def on_message(c, userdata, msg):
    out(msg_line(msg))
    received.append(msg)
    if len(received) >= args.count:
        done.set()


client.on_message = on_message

if args.cmd == "will":
    wp = Properties(PacketTypes.WILLMESSAGE)
    if args.delay:
        wp.WillDelayInterval = args.delay
    client.will_set(args.topic, args.payload, qos=1, properties=wp)

cp = Properties(PacketTypes.CONNECT)
if args.expiry:
    cp.SessionExpiryInterval = args.expiry
clean = not (args.cmd == "session" and args.phase == "resume")
client.connect("127.0.0.1", args.port, keepalive=30, clean_start=clean,
               properties=cp if args.expiry else None)
client.loop_start()
wait(connected, "CONNACK")

if args.cmd == "will":
    out("READY")
    os._exit(0)  # the socket closes without DISCONNECT

if args.cmd == "respond":
    def on_request(c, userdata, msg):
        rt = getattr(msg.properties, "ResponseTopic", None)
        if rt is None:
            fail("request without Response Topic")
        p = Properties(PacketTypes.PUBLISH)
        cd = getattr(msg.properties, "CorrelationData", None)
        if cd is not None:
            p.CorrelationData = cd
        p.UserProperty = [("responder", "paho")]
        c.publish(rt, b"re:" + msg.payload, qos=1, properties=p)
        state["n"] += 1
        if state["n"] >= args.count:
            done.set()

    client.on_message = on_request
    client.subscribe(args.topic, qos=1)
    wait(subscribed, "SUBACK")
    out("READY")
    wait(done, "requests")
    client.disconnect()
    client.loop_stop()
    out("DONE")
    sys.exit(0)

if args.cmd == "request":
    reply = f"{args.topic}/reply/{uuid.uuid4().hex}"

    def on_response(c, userdata, msg):
        cd = getattr(msg.properties, "CorrelationData", b"")
        user = ";".join(f"{k}={v}" for k, v in getattr(msg.properties, "UserProperty", []))
        out(f"RESP|{msg.topic}|{msg.payload.decode()}|{cd.hex()}|{user}")
        done.set()

    client.on_message = on_response
    client.subscribe(reply, qos=1)
    wait(subscribed, "SUBACK")
    p = Properties(PacketTypes.PUBLISH)
    p.ResponseTopic = reply
    p.CorrelationData = bytes.fromhex(args.corr)
    client.publish(args.topic, b"ping", qos=1, properties=p)
    wait(done, "response")
    client.disconnect()
    client.loop_stop()
    sys.exit(0)

if args.cmd == "sub":
    sp = None
    if args.subid:
        sp = Properties(PacketTypes.SUBSCRIBE)
        sp.SubscriptionIdentifier = args.subid
    so = SubscribeOptions(qos=args.qos, noLocal=args.nolocal)
    client.subscribe(args.topic, options=so, properties=sp)
    wait(subscribed, "SUBACK")
    if args.self_payload is not None:
        info = client.publish(args.topic, args.self_payload, qos=1)
        info.wait_for_publish(timeout=args.timeout)
        if not info.is_published():
            fail("self publish not acknowledged")
    out("READY")
    wait(done, "messages")
    client.disconnect()
    client.loop_stop()
    out("DONE")
    sys.exit(0)

if args.cmd == "session":
    if args.phase == "setup":
        client.subscribe(args.topic, qos=1)
        wait(subscribed, "SUBACK")
        client.disconnect()
        client.loop_stop()
        out("DONE")
        sys.exit(0)
    wait(done, "messages")
    client.disconnect()
    client.loop_stop()
    out("DONE")
    sys.exit(0)
