# Writes the hand-made seed packets into fuzz/seeds/<target>/: python3 fuzz/gen_seeds.py fuzz/seeds
import os, struct, sys

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)

def s(x):
    if isinstance(x, str): x = x.encode()
    return struct.pack(">H", len(x)) + x
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def pkt(first, body): return bytes([first]) + varint(len(body)) + body
def props(*ps):
    b = b"".join(ps); return varint(len(b)) + b
def p_byte(i, v): return bytes([i, v])
def p_u16(i, v): return bytes([i]) + u16(v)
def p_u32(i, v): return bytes([i]) + u32(v)
def p_str(i, v): return bytes([i]) + s(v)
def p_user(k, v): return b"\x26" + s(k) + s(v)
def p_var(i, v): return bytes([i]) + varint(v)

v3 = {
 "connect": pkt(0x10, s("MQTT") + b"\x04\x02" + u16(60) + s("client-1")),
 "connect_full": pkt(0x10, s("MQTT") + b"\x04" + bytes([0x80|0x40|0x20|0x10|0x04|0x02]) + u16(30)
                    + s("c2") + s("will/topic") + s(b"bye") + s("user") + s(b"secret")),
 "connect_v31": pkt(0x10, s("MQIsdp") + b"\x03\x02" + u16(10) + s("old-client")),
 "connack": pkt(0x20, b"\x01\x00"),
 "publish_qos0": pkt(0x30, s("a/b") + b"hello"),
 "publish_qos1_retain": pkt(0x33, s("sensors/temp") + u16(7) + b"21.5"),
 "publish_qos2_dup": pkt(0x3C, s("x/y/z") + u16(65535) + bytes(range(40))),
 "puback": pkt(0x40, u16(7)),
 "pubrec": pkt(0x50, u16(8)),
 "pubrel": pkt(0x62, u16(8)),
 "pubcomp": pkt(0x70, u16(8)),
 "subscribe": pkt(0x82, u16(1) + s("a/+/c") + b"\x01" + s("#") + b"\x02"),
 "suback": pkt(0x90, u16(1) + b"\x01\x02\x80"),
 "unsubscribe": pkt(0xA2, u16(2) + s("a/+/c") + s("#")),
 "unsuback": pkt(0xB0, u16(2)),
 "pingreq": pkt(0xC0, b""),
 "pingresp": pkt(0xD0, b""),
 "disconnect": pkt(0xE0, b""),
}
v3["stream"] = v3["connect"] + v3["subscribe"] + v3["publish_qos1_retain"] + v3["pingreq"] + v3["disconnect"]

v5 = {
 "connect": pkt(0x10, s("MQTT") + b"\x05\x02" + u16(60)
               + props(p_u32(0x11, 3600), p_u16(0x21, 100), p_u32(0x27, 65536), p_u16(0x22, 10),
                       p_byte(0x19, 1), p_byte(0x17, 0), p_user("k", "v"))
               + s("client-5")),
 "connect_will_auth": pkt(0x10, s("MQTT") + b"\x05" + bytes([0x80|0x40|0x08|0x04]) + u16(0)
               + props(p_str(0x15, "SCRAM-SHA-1"), p_str(0x16, "data"))
               + s("")
               + props(p_u32(0x18, 5), p_byte(0x01, 1), p_u32(0x02, 60), p_str(0x03, "text/plain"),
                       p_str(0x08, "resp/t"), p_str(0x09, "corr"), p_user("a", "b"))
               + s("will/t") + s(b"gone") + s("user") + s(b"pw")),
 "connack": pkt(0x20, b"\x00\x00" + props(p_u32(0x11, 0), p_u16(0x21, 20), p_byte(0x24, 1),
               p_byte(0x25, 1), p_u32(0x27, 1 << 20), p_str(0x12, "auto-1"), p_u16(0x22, 5),
               p_str(0x1F, "ok"), p_user("x", "y"), p_byte(0x28, 1), p_byte(0x29, 1),
               p_byte(0x2A, 0), p_u16(0x13, 30), p_str(0x1A, "info"), p_str(0x1C, "other"))),
 "connack_refused": pkt(0x20, b"\x00\x87" + props()),
 "publish_qos0": pkt(0x30, s("a/b") + props() + b"hello"),
 "publish_props": pkt(0x32, s("sensors/temp") + u16(9)
               + props(p_byte(0x01, 1), p_u32(0x02, 120), p_u16(0x23, 3), p_str(0x08, "r/t"),
                       p_str(0x09, "cd"), p_user("k1", "v1"), p_user("k2", "v2"),
                       p_var(0x0B, 1), p_var(0x0B, 268435455), p_str(0x03, "json"))
               + b'{"t":21.5}'),
 "publish_alias_only": pkt(0x35, s("") + u16(10) + props(p_u16(0x23, 3)) + b"aliased"),
 "puback_short": pkt(0x40, u16(7)),
 "puback_reason": pkt(0x40, u16(7) + b"\x10" + props(p_str(0x1F, "no subs"), p_user("a", "b"))),
 "pubrec": pkt(0x50, u16(8) + b"\x00"),
 "pubrel": pkt(0x62, u16(8) + b"\x92" + props()),
 "pubcomp": pkt(0x70, u16(8) + b"\x00" + props()),
 "subscribe": pkt(0x82, u16(1) + props(p_var(0x0B, 42), p_user("s", "t"))
               + s("a/+/c") + b"\x2D" + s("$share/g/#") + b"\x01"),
 "suback": pkt(0x90, u16(1) + props(p_str(0x1F, "r")) + b"\x01\x02\x80\x97"),
 "unsubscribe": pkt(0xA2, u16(2) + props(p_user("u", "v")) + s("a/+/c") + s("#")),
 "unsuback": pkt(0xB0, u16(2) + props() + b"\x00\x11"),
 "pingreq": pkt(0xC0, b""),
 "disconnect_short": pkt(0xE0, b""),
 "disconnect_props": pkt(0xE0, b"\x04" + props(p_u32(0x11, 0), p_str(0x1F, "bye"), p_str(0x1C, "srv"))),
 "auth": pkt(0xF0, b"\x18" + props(p_str(0x15, "SCRAM-SHA-1"), p_str(0x16, "challenge"))),
}
v5["stream"] = v5["connect"] + v5["subscribe"] + v5["publish_props"] + v5["puback_reason"] + v5["disconnect_props"]

root = sys.argv[1]
def write(target, name, data):
    d = os.path.join(root, target); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), "wb").write(data)
for n, b in v3.items(): write("decode_v3", n, b)
for n, b in v5.items(): write("decode_v5", n, b)
for n, b in v3.items():
    if n != "stream": write("roundtrip", "v3_" + n, b"\x01" + b)
write("roundtrip", "v31_connect", b"\x00" + v3["connect_v31"])
for n, b in v5.items():
    if n != "stream": write("roundtrip", "v5_" + n, b"\x02" + b)
