"""paho-mqtt 2.x subscriber for the roost integration tests.

Prints READY once subscribed, then one line per message:
    MSG|topic|qos|retain|payload|k1=v1;k2=v2   (user properties, MQTT 5.0 only)
then DONE once --count messages arrived. Exits 1 on timeout, 2 on connection failure.
"""
import argparse
import sys
import threading

import paho.mqtt.client as mqtt

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--topic", action="append", required=True)
ap.add_argument("--qos", type=int, default=0)
ap.add_argument("--count", type=int, default=1)
ap.add_argument("--timeout", type=float, default=10.0)
ap.add_argument("--v5", action="store_true")
ap.add_argument("--id", default="")
args = ap.parse_args()

proto = mqtt.MQTTv5 if args.v5 else mqtt.MQTTv311
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.id, protocol=proto)
done = threading.Event()
received = []


def on_connect(c, userdata, flags, reason_code, properties):
    if reason_code.is_failure:
        print("CONNACK failed", reason_code, flush=True)
        sys.exit(2)
    c.subscribe([(t, args.qos) for t in args.topic])


def on_subscribe(c, userdata, mid, reason_codes, properties):
    print("READY", flush=True)


def on_message(c, userdata, msg):
    user = ""
    props = getattr(msg, "properties", None)
    if props is not None and hasattr(props, "UserProperty"):
        user = ";".join(f"{k}={v}" for k, v in props.UserProperty)
    payload = msg.payload.decode("utf-8", "replace")
    print(f"MSG|{msg.topic}|{msg.qos}|{int(msg.retain)}|{payload}|{user}", flush=True)
    received.append(msg)
    if len(received) >= args.count:
        done.set()


client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect("127.0.0.1", args.port, keepalive=30)
client.loop_start()
ok = done.wait(args.timeout)
client.disconnect()
client.loop_stop()
if not ok:
    print(f"TIMEOUT after {len(received)} messages", flush=True)
    sys.exit(1)
print("DONE", flush=True)
