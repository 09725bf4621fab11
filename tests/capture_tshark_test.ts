/**
 * Wireshark's own reader (tshark) against calcnet's captures: the files the
 * writer records read without a malformed packet, a bad checksum or a TCP
 * analysis warning, as the TCP streams that were recorded; and the files
 * the reader tests build are read by tshark as calcnet reads them.
 */

import assert from "node:assert/strict";
import { type CapturedPacket, LinkType, readCapture } from "../src/capture/mod.ts";
import { ipPacketOf } from "../src/capture/link_layer.ts";
import { tcpSegmentOf } from "../src/capture/tcp_segment.ts";
import {
  epb,
  idb,
  pcapFile,
  pcapngFile,
  recordToBytes,
  shb,
  spb,
  wrapLink,
} from "./helpers/capture_files.ts";
import { exchange, V4, V6 } from "./helpers/capture_traffic.ts";
import { concat, toHex } from "./helpers/bytes.ts";
import { withTempDir } from "./helpers/fs.ts";
import { fieldFlags, fieldRows, requireTshark, runTshark } from "./helpers/tshark.ts";

const ONE = exchange("max(2, 3) + 3");
const TWO = exchange("(sin(max(2, 3 * 4, 5, 6 * ((7 * 8) / 9), 10 / 11)) / 12) * 13");
const BIG = Uint8Array.from({ length: 140_000 }, (_, i) => (i * 7) % 256);

/** Expert info severities (Wireshark's PI_ values): comment, chat, note; warning and error above. */
const PI_WARN = 0x00600000;

/** What each direction of each recorded stream sent, in order. */
const SENT: readonly [client: Uint8Array, server: Uint8Array][] = [
  [concat([ONE.request, TWO.request]), concat([ONE.response, TWO.response])],
  [BIG, ONE.response],
];

function recording(): Uint8Array {
  return recordToBytes((w) => {
    w.open(V4);
    w.open(V6);
    w.data(V4, "client", ONE.request.subarray(0, 100));
    w.data(V4, "client", ONE.request.subarray(100));
    w.data(V6, "client", BIG);
    w.data(V4, "server", ONE.response);
    w.data(V4, "client", TWO.request);
    w.data(V6, "server", ONE.response);
    w.data(V4, "server", TWO.response);
    w.close(V4, "client");
    w.close(V6, "server");
  }, { application: "calcnet test" });
}

async function withFile<T>(bytes: Uint8Array, body: (path: string) => Promise<T>): Promise<T> {
  return await withTempDir(async (dir) => {
    const path = `${dir}/capture.pcapng`;
    await Deno.writeFile(path, bytes);
    return await body(path);
  });
}

/** The bytes each node sent in `tshark -z follow,tcp,raw,<stream>`: node 0's lines, node 1's (tab-indented). */
function followed(output: string): [string, string] {
  const lines = output.split("\n");
  const start = lines.findIndex((line) => line.startsWith("Node 1:")) + 1;
  let node0 = "";
  let node1 = "";
  for (const line of lines.slice(start)) {
    if (line.startsWith("====")) break;
    if (line.startsWith("\t")) node1 += line.slice(1);
    else node0 += line;
  }
  return [node0, node1];
}

Deno.test("tshark is installed (the tests below need it)", async () => {
  assert.match(await requireTshark(), /^TShark \(Wireshark\) \d+\./);
});

Deno.test("tshark reads calcnet's recording with good checksums and no malformed packet or TCP warning", async () => {
  await withFile(recording(), async (path) => {
    const rows = fieldRows(
      await runTshark([
        "-r",
        path,
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        ...fieldFlags(
          "ip.version",
          "ipv6.version",
          "ip.checksum.status",
          "tcp.checksum.status",
          "tcp.analysis.flags",
          "_ws.malformed",
          "_ws.expert.severity",
        ),
        "-E",
        "occurrence=a",
      ]),
    );
    // Two handshakes, ONE.request in two writes, BIG in segments, four more writes, two closes.
    const segments = 2 * 3 + 2 + Math.ceil(BIG.length / 65495) + 4 + 2 * 3;
    assert.equal(rows.length, segments);
    for (
      const [i, [v4, v6, ipStatus, tcpStatus, analysis, malformed, severities]] of rows.entries()
    ) {
      const frame = `frame ${i + 1}: ${rows[i]?.join(" | ")}`;
      assert.ok(v4 === "4" ? ipStatus === "1" : v6 === "6", frame);
      assert.equal(tcpStatus, "1", frame);
      assert.equal(analysis, "", frame);
      assert.equal(malformed, "", frame);
      for (const severity of (severities ?? "").split(",").filter((s) => s !== "")) {
        assert.ok(Number(severity) < PI_WARN, frame);
      }
    }
  });
});

Deno.test("tshark follows each recorded stream as exactly the bytes that were sent", async () => {
  await withFile(recording(), async (path) => {
    for (const [stream, [client, server]] of SENT.entries()) {
      const output = await runTshark(["-r", path, "-q", "-z", `follow,tcp,raw,${stream}`]);
      assert.match(output, stream === 0 ? /Node 0: 127\.0\.0\.1:50000/ : /Node 0: \[::1\]:50001/);
      assert.deepEqual(followed(output), [toHex(client), toHex(server)], `stream ${stream}`);
    }
    const comments = await runTshark([
      "-r",
      path,
      "-Y",
      "frame.comment",
      ...fieldFlags("frame.comment"),
    ]);
    assert.equal(comments, "experiment 3.1\n");
  });
});

Deno.test("tshark reads a recording stopped by its size limit, the last packet marked and cut short", async () => {
  const file = recordToBytes((w) => {
    w.open(V4);
    for (let i = 0; i < 10; i++) w.data(V4, "client", ONE.request);
  }, { maxBytes: 3000 });
  await withFile(file, async (path) => {
    const rows = fieldRows(
      await runTshark([
        "-r",
        path,
        "-o",
        "tcp.check_checksum:TRUE",
        ...fieldFlags(
          "frame.len",
          "frame.cap_len",
          "tcp.checksum.status",
          "_ws.malformed",
          "frame.comment",
        ),
      ]),
    );
    const last = rows[rows.length - 1] as string[];
    assert.deepEqual(last.slice(0, 4), [String(40 + ONE.request.length), "40", "2", ""]);
    assert.match(last[4] ?? "", /^calcnet stopped recording here/);
    assert.ok(
      rows.slice(0, -1).every((row) => row[2] === "1" && row[3] === "" && row[0] === row[1]),
    );
  });
});

/** Per frame: the TCP stream and payload tshark sees, and its time in microseconds. */
async function tsharkView(path: string): Promise<string[][]> {
  return fieldRows(
    await runTshark([
      "-r",
      path,
      ...fieldFlags("frame.number", "tcp.srcport", "tcp.payload", "frame.time_epoch"),
    ]),
  );
}

/** The same per frame as calcnet reads it. */
function calcnetView(packets: readonly CapturedPacket[]): string[][] {
  return packets.map((packet) => {
    const segment = tcpSegmentOf(ipPacketOf(packet.linkType, packet.data) as Uint8Array);
    const ns = packet.timeNs ?? 0n;
    const epoch = `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}`;
    return [
      String(packet.frame),
      String(segment?.sourcePort),
      toHex(segment?.payload ?? new Uint8Array(0)),
      epoch,
    ];
  });
}

Deno.test("tshark reads the reader tests' pcap and pcapng variants as calcnet's reader does", async () => {
  const raw = readCapture(recordToBytes((w) => {
    w.open(V4, 1_700_000_000_000.25);
    w.data(V4, "client", ONE.request, 1_700_000_000_001.5);
    w.data(V4, "server", ONE.response, 1_700_000_000_002);
  })).packets.map((packet, i) => ({
    data: packet.data,
    timeNs: 1_700_000_000_123_456_000n + BigInt(i) * 1789n,
  }));
  const variants: [string, Uint8Array][] = [];
  for (
    const linkType of [
      LinkType.Raw,
      LinkType.Ethernet,
      LinkType.Null,
      LinkType.LinuxSll,
      LinkType.LinuxSll2,
    ]
  ) {
    const framed = raw.map((p) => ({ ...p, data: wrapLink(linkType, p.data) }));
    variants.push([`pcapng LE ${linkType}`, pcapngFile(framed, linkType, true)]);
    variants.push([
      `pcap BE ns ${linkType}`,
      pcapFile(framed, { littleEndian: false, nanos: true, linkType }),
    ]);
  }
  variants.push([
    `pcap LE µs`,
    pcapFile(raw, { littleEndian: true, nanos: false, linkType: LinkType.Raw }),
  ]);
  variants.push([
    `pcapng BE, simple packets`,
    concat([shb(false), idb(LinkType.Raw, false), ...raw.map((p) => spb(p, false))]),
  ]);
  variants.push([
    `pcapng BE, nanoseconds`,
    concat([shb(false), idb(LinkType.Raw, false, 9), ...raw.map((p) => epb(p, p.timeNs, false))]),
  ]);
  for (const [name, file] of variants) {
    await withFile(file, async (path) => {
      const theirs = await tsharkView(path);
      const ours = calcnetView(readCapture(file).packets);
      if (name.includes("simple")) {
        // No time stamps in simple packet blocks: compare the rest.
        assert.deepEqual(
          theirs.map((row) => row.slice(0, 3)),
          ours.map((row) => row.slice(0, 3)),
          name,
        );
      } else {
        const micro = name.includes("µs") || name.startsWith("pcapng LE");
        const trim = (rows: string[][]): string[][] =>
          rows.map((
            row,
          ) => [...row.slice(0, 3), micro ? (row[3] ?? "").slice(0, -3) : row[3] ?? ""]);
        assert.deepEqual(trim(theirs), trim(ours), name);
      }
    });
  }
});
