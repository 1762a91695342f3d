"""paho-mqtt 2.x publisher for the roost integration tests.

Publishes --count messages "<prefix><i>" (i from 0) to --topic at --qos, waits until every one
is acknowledged as its QoS requires, disconnects cleanly and prints DONE. MQTT 5.0 user
properties: --user k=v (repeatable; each message also gets seq=<i> last).
"""
import argparse
import sys

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--topic", required=True)
ap.add_argument("--qos", type=int, default=0)
ap.add_argument("--count", type=int, default=1)
ap.add_argument("--prefix", default="m")
ap.add_argument("--retain", action="store_true")
ap.add_argument("--v5", action="store_true")
ap.add_argument("--user", action="append", default=[])
ap.add_argument("--timeout", type=float, default=10.0)
args = ap.parse_args()

proto = mqtt.MQTTv5 if args.v5 else mqtt.MQTTv311
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=proto)
client.connect("127.0.0.1", args.port, keepalive=30)
client.loop_start()
infos = []
for i in range(args.count):
    props = None
    if args.v5:
        props = Properties(PacketTypes.PUBLISH)
        pairs = [tuple(u.split("=", 1)) for u in args.user] + [("seq", str(i))]
        props.UserProperty = pairs
    infos.append(
        client.publish(args.topic, f"{args.prefix}{i}", qos=args.qos, retain=args.retain,
                       properties=props)
    )
for info in infos:
    info.wait_for_publish(timeout=args.timeout)
    if not info.is_published():
        print("NOT PUBLISHED", info.mid, flush=True)
        sys.exit(1)
client.disconnect()
client.loop_stop()
print("DONE", flush=True)
