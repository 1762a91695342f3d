"""paho-mqtt 2.x connecting with credentials, for roost's authentication tests.

Connects once with --version 3 (3.1.1) or 5, --user/--password if given and, in 5.0, an
Authentication Method --method with data --data. Prints one line

  CONNACK|<reason code value>|<Authentication Method or ->|<Authentication Data or ->

then, if accepted, publishes --payload to --topic at QoS 1, waits for its PUBACK, prints PUBACK
and disconnects. Exits 0 once CONNACK arrived (accepted or not), non-zero on timeout.
"""
import argparse
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--version", type=int, choices=[3, 5], default=5)
ap.add_argument("--id", default="")
ap.add_argument("--user", default=None)
ap.add_argument("--password", default=None)
ap.add_argument("--method", default=None)
ap.add_argument("--data", default=None)
ap.add_argument("--topic", default="auth/paho")
ap.add_argument("--payload", default="hello")
ap.add_argument("--timeout", type=float, default=10.0)
args = ap.parse_args()

v5 = args.version == 5
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.id,
                     protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
if args.user is not None:
    client.username_pw_set(args.user, args.password)
connacked = threading.Event()
published = threading.Event()
state = {"accepted": False}


def on_connect(client, userdata, flags, reason_code, properties):
    method = getattr(properties, "AuthenticationMethod", None) if properties else None
    data = getattr(properties, "AuthenticationData", None) if properties else None
    print("CONNACK|%d|%s|%s" % (reason_code.value, method or "-",
                                data.decode() if data else "-"), flush=True)
    state["accepted"] = not reason_code.is_failure
    connacked.set()


def on_publish(client, userdata, mid, reason_code, properties):
    published.set()


client.on_connect = on_connect
client.on_publish = on_publish
props = None
if v5 and args.method is not None:
    props = Properties(PacketTypes.CONNECT)
    props.AuthenticationMethod = args.method
    if args.data is not None:
        props.AuthenticationData = args.data.encode()
if v5:
    client.connect("127.0.0.1", args.port, keepalive=30, properties=props)
else:
    client.connect("127.0.0.1", args.port, keepalive=30)
client.loop_start()
if not connacked.wait(args.timeout):
    print("no CONNACK", file=sys.stderr)
    sys.exit(1)
if state["accepted"]:
    client.publish(args.topic, args.payload, qos=1)
    if not published.wait(args.timeout):
        print("no PUBACK", file=sys.stderr)
        sys.exit(1)
    print("PUBACK", flush=True)
    client.disconnect()
client.loop_stop()
