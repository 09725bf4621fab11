import assert from "node:assert/strict";
import {
  type CapturedPacket,
  collectMessages,
  LinkType,
  readCapture,
  type RecordedConnection,
  type StreamItem,
} from "../src/capture/mod.ts";
import { buildTcpPacket } from "../src/capture/packet_builder.ts";
import { TcpFlag } from "../src/capture/tcp_ip_layout.ts";
import {
  MAX_PENDING_SEGMENTS,
  type Origin,
  TcpReassembler,
} from "../src/capture/tcp_reassembler.ts";
import { recordToBytes, vlanFrame, wrapLink } from "./helpers/capture_files.ts";
import { concat } from "./helpers/bytes.ts";
import { exchange } from "./helpers/capture_traffic.ts";

const CONN: RecordedConnection = {
  client: { hostname: "127.0.0.1", port: 50000 },
  server: { hostname: "127.0.0.1", port: 9999 },
};
const T0 = 1_700_000_000_000;
const ONE = exchange("max(2, 3) + 3");
const TWO = exchange("1 / 0");

/** The packets calcnet's writer records for `scenario`. */
function record(
  scenario: (record: (from: "client" | "server", bytes: Uint8Array) => void) => void,
  conn: RecordedConnection = CONN,
  isn?: number,
): CapturedPacket[] {
  let t = T0;
  const file = recordToBytes((w) => {
    w.open(conn, t);
    scenario((from, bytes) => w.data(conn, from, bytes, t += 1));
    w.close(conn, "client", t += 1);
  }, isn === undefined ? {} : { initialSequence: () => isn });
  return readCapture(file).packets;
}

/** Renumbers packets 1, 2, … after a test reordered, dropped or repeated some. */
function renumber(packets: readonly CapturedPacket[]): CapturedPacket[] {
  return packets.map((packet, i) => ({ ...packet, frame: i + 1 }));
}

function messages(items: readonly StreamItem[]): Uint8Array[] {
  return items.flatMap(({ item }) => item.kind === "message" && item.complete ? [item.bytes] : []);
}

/** The usual exchange: request one, response one, request two, response two. */
function conversation(send: (from: "client" | "server", bytes: Uint8Array) => void): void {
  send("client", ONE.request);
  send("server", ONE.response);
  send("client", TWO.request);
  send("server", TWO.response);
}

const EXPECTED = [ONE.request, ONE.response, TWO.request, TWO.response];

Deno.test("collectMessages() cuts a recorded conversation into its messages, with frames and ends", () => {
  const { items, summary } = collectMessages(record(conversation));
  assert.deepEqual(messages(items), EXPECTED);
  assert.deepEqual(
    items.map(({ stream, source, item }) => [stream, source, item.firstFrame, item.frame]),
    [
      [0, "127.0.0.1:50000", 4, 4],
      [0, "127.0.0.1:9999", 5, 5],
      [0, "127.0.0.1:50000", 6, 6],
      [0, "127.0.0.1:9999", 7, 7],
    ],
  );
  assert.equal(items[1]?.item.timeNs, BigInt(T0 + 2) * 1_000_000n);
  assert.deepEqual(summary, {
    packets: 10,
    otherPackets: 0,
    streams: 1,
    calcnetStreams: 1,
    unreadableLinkTypes: [],
  });
});

Deno.test("collectMessages() joins one message sent over many segments", () => {
  const packets = record((send) => {
    for (let at = 0; at < ONE.request.length; at += 7) {
      send("client", ONE.request.subarray(at, at + 7));
    }
    send("server", ONE.response);
  });
  const { items } = collectMessages(packets);
  assert.deepEqual(messages(items), [ONE.request, ONE.response]);
  const segments = Math.ceil(ONE.request.length / 7);
  assert.deepEqual([items[0]?.item.firstFrame, items[0]?.item.frame], [4, 3 + segments]);
});

Deno.test("collectMessages() follows a stream on another port whose first segment is shorter than a header", () => {
  const elsewhere: RecordedConnection = {
    client: { hostname: "127.0.0.1", port: 50001 },
    server: { hostname: "127.0.0.1", port: 5555 },
  };
  const packets = record((send) => {
    send("client", ONE.request.subarray(0, 5));
    send("client", ONE.request.subarray(5));
    send("server", ONE.response);
  }, elsewhere);
  assert.deepEqual(messages(collectMessages(packets).items), [ONE.request, ONE.response]);
  // Five bytes whose length field would be impossible decide the other way.
  const bogus = record((send) => send("client", new Uint8Array([1, 2, 3, 4, 0, 3, 0])), elsewhere);
  assert.equal(collectMessages(bogus).summary.calcnetStreams, 0);
});

Deno.test("collectMessages() splits two messages sent in one segment", () => {
  const packets = record((send) => {
    send("client", concat([ONE.request, TWO.request]));
    send("server", concat([ONE.response, TWO.response.subarray(0, 10)]));
    send("server", TWO.response.subarray(10));
  });
  const { items } = collectMessages(packets);
  assert.deepEqual(messages(items), [ONE.request, TWO.request, ONE.response, TWO.response]);
  assert.deepEqual(items.map(({ item }) => [item.firstFrame, item.frame]), [
    [4, 4],
    [4, 4],
    [5, 5],
    [5, 6],
  ]);
});

Deno.test("collectMessages() puts out-of-order segments back in order", () => {
  const packets = record((send) => {
    send("client", ONE.request.subarray(0, 100));
    send("client", ONE.request.subarray(100, 200));
    send("client", ONE.request.subarray(200));
    send("server", ONE.response);
  });
  // Frames 4, 5, 6 carry the request: capture them as 6, 4, 5.
  const reordered = renumber(
    [
      ...packets.slice(0, 3),
      packets[5],
      packets[3],
      packets[4],
      ...packets.slice(6),
    ] as CapturedPacket[],
  );
  const { items } = collectMessages(reordered);
  assert.deepEqual(messages(items), [ONE.request, ONE.response]);
  // Its frames are 4 to 6; frame 6 completed it.
  assert.deepEqual([items[0]?.item.firstFrame, items[0]?.item.frame], [4, 6]);
});

Deno.test("collectMessages() delivers retransmitted and overlapping bytes once", () => {
  const packets = record(conversation);
  const retransmitted = renumber(
    [...packets.slice(0, 5), packets[3], ...packets.slice(5)] as CapturedPacket[],
  );
  assert.deepEqual(messages(collectMessages(retransmitted).items), EXPECTED);
  // The first 100 bytes again, then bytes 50 to the end: they overlap what was sent.
  const client = { source: Uint8Array.of(127, 0, 0, 1), destination: Uint8Array.of(127, 0, 0, 1) };
  const base = (packets[3] as CapturedPacket).data;
  const seq = new DataView(base.buffer, base.byteOffset).getUint32(24);
  const overlap = (from: number, to: number): CapturedPacket => ({
    ...(packets[3] as CapturedPacket),
    data: buildTcpPacket({
      ...client,
      sourcePort: 50000,
      destinationPort: 9999,
      seq: seq + from,
      ack: 0,
      flags: TcpFlag.ACK,
      window: 100,
      payload: ONE.request.subarray(from, to),
      ipId: 0,
    }).packet,
  });
  const resent = renumber([
    ...packets.slice(0, 3),
    overlap(0, 100),
    overlap(50, ONE.request.length),
    overlap(0, 30),
  ]);
  assert.deepEqual(messages(collectMessages(resent).items), [ONE.request]);
});

Deno.test("collectMessages() reports a lost segment and finds the next message after it", () => {
  const packets = record((send) => {
    send("client", ONE.request.subarray(0, 100));
    send("client", ONE.request.subarray(100));
    send("client", TWO.request);
  });
  const lost = renumber([...packets.slice(0, 4), ...packets.slice(5)]);
  const { items } = collectMessages(lost);
  assert.deepEqual(
    items.map(({ item }) =>
      item.kind === "message" ? [item.complete, item.bytes.length] : [item.reason]
    ),
    [
      [false, 100],
      [true, TWO.request.length],
    ],
  );
  const first = items[0]?.item;
  assert.ok(first?.kind === "message");
  assert.match(
    first.note ?? "",
    new RegExp(
      `${ONE.request.length - 100} bytes of the stream that follow are not in the capture`,
    ),
  );
  // Without the message's first segment, its rest is skipped up to the next message.
  const headless = collectMessages(renumber([...packets.slice(0, 3), ...packets.slice(4)])).items;
  assert.deepEqual(
    headless.map(({ item }) =>
      item.kind === "message" ? [item.complete, item.bytes.length] : [item.reason, item.length]
    ),
    [
      [
        "after 100 bytes missing from the capture, before a message starts again",
        ONE.request.length - 100,
      ],
      [true, TWO.request.length],
    ],
  );
});

Deno.test("collectMessages() of a capture cut short ends with the unfinished message", () => {
  const packets = record((send) => {
    send("client", ONE.request);
    send("client", TWO.request.subarray(0, 50));
    send("client", TWO.request.subarray(50));
  });
  const { items } = collectMessages(packets.slice(0, 5));
  assert.deepEqual(
    items.map(({ item }) => item.kind === "message" ? [item.complete, item.bytes.length] : []),
    [
      [true, ONE.request.length],
      [false, 50],
    ],
  );
  const { items: tiny } = collectMessages(
    record((send) => send("client", ONE.request.subarray(0, 5))),
  );
  assert.deepEqual(tiny.map(({ item }) => item.kind === "fragment" ? item.length : -1), [5]);
});

Deno.test("collectMessages() treats bytes a snap length cut off as lost", () => {
  const packets = record((send) => {
    send("client", ONE.request);
    send("client", TWO.request);
  });
  const cut = packets.map((p) => p.frame === 4 ? { ...p, data: p.data.subarray(0, 40 + 30) } : p);
  const { items } = collectMessages(cut);
  assert.deepEqual(
    items.map(({ item }) => item.kind === "message" ? [item.complete, item.bytes.length] : []),
    [
      [false, 30],
      [true, TWO.request.length],
    ],
  );
});

Deno.test("collectMessages() turns a total length below 12 into a fragment and resumes at the next header", () => {
  const bad = Uint8Array.of(0, 0, 0, 0, 0, 5, 0x1c, 0, 0, 0, 0, 0, 9, 9);
  const packets = record((send) => {
    send("client", ONE.request);
    send("client", bad);
    send("client", Uint8Array.of(1, 2, 3));
    send("client", TWO.request);
  }, { ...CONN, server: { hostname: "127.0.0.1", port: 7000 } });
  const { items } = collectMessages(packets);
  assert.deepEqual(
    items.map(({ item }) => item.kind === "message" ? `message ${item.bytes.length}` : item.reason),
    [
      `message ${ONE.request.length}`,
      "Invalid total length: 5 (must be between 12 and 65535 bytes inclusive): the stream cannot be framed from here",
      "after bytes that cannot be framed, before a message starts again",
      `message ${TWO.request.length}`,
    ],
  );
});

Deno.test("collectMessages() reads the same messages from every link type and from IPv6", () => {
  const v4 = record(conversation);
  const v6 = record(conversation, {
    client: { hostname: "::1", port: 50000 },
    server: { hostname: "::1", port: 9999 },
  });
  for (const packets of [v4, v6]) {
    for (
      const linkType of [
        LinkType.Null,
        LinkType.Ethernet,
        LinkType.Loop,
        LinkType.LinuxSll,
        LinkType.LinuxSll2,
      ]
    ) {
      const wrapped = packets.map((p) => ({ ...p, linkType, data: wrapLink(linkType, p.data) }));
      assert.deepEqual(messages(collectMessages(wrapped).items), EXPECTED, `link type ${linkType}`);
    }
    const tagged = packets.map((p) => ({
      ...p,
      linkType: LinkType.Ethernet,
      data: vlanFrame(p.data),
    }));
    assert.deepEqual(
      messages(collectMessages(v4 === packets ? tagged : []).items),
      v4 === packets ? EXPECTED : [],
    );
  }
  assert.equal(collectMessages(v6).items[0]?.source, "[::1]:50000");
  const unknown = collectMessages(v4.map((p) => ({ ...p, linkType: 147 })));
  assert.deepEqual(unknown.summary.unreadableLinkTypes, [147]);
  assert.equal(unknown.summary.otherPackets, v4.length);
});

Deno.test("collectMessages() follows sequence numbers across 2**32", () => {
  const packets = record(
    (send) => {
      send("client", ONE.request.subarray(0, 200));
      send("client", ONE.request.subarray(200));
      send("server", ONE.response);
    },
    CONN,
    0xffffff00,
  );
  assert.deepEqual(messages(collectMessages(packets).items), [ONE.request, ONE.response]);
});

Deno.test("collectMessages() numbers streams as Wireshark does and skips other traffic", () => {
  const other = {
    client: { hostname: "10.0.0.1", port: 40000 },
    server: { hostname: "10.0.0.2", port: 80 },
  };
  const http = record(
    (send) => send("client", new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n")),
    other,
  );
  const first = record(conversation);
  const again = record((send) => send("client", TWO.request));
  const sideways = record((send) => send("client", ONE.request), {
    client: { hostname: "127.0.0.1", port: 50001 },
    server: { hostname: "127.0.0.1", port: 12345 },
  });
  const { items, summary } = collectMessages(renumber([...http, ...first, ...again, ...sideways]));
  assert.deepEqual(items.map(({ stream }) => stream), [1, 1, 1, 1, 2, 3]);
  assert.deepEqual(messages(items).slice(4), [TWO.request, ONE.request]);
  assert.equal(summary.streams, 4);
  assert.equal(summary.calcnetStreams, 3);
});

Deno.test("collectMessages() reads a capture that starts in the middle of a connection", () => {
  const packets = record(conversation);
  const { items } = collectMessages(renumber(packets.slice(5)));
  assert.deepEqual(messages(items), [TWO.request, TWO.response]);
});

Deno.test("TcpReassembler gives up a hole once more than MAX_PENDING_SEGMENTS segments wait behind it", () => {
  const events: string[] = [];
  const reassembler = new TcpReassembler({
    bytes: (bytes) => events.push(`bytes ${bytes.length}`),
    gap: (missing) => events.push(`gap ${missing}`),
  });
  const origin: Origin = { frame: 1, timeNs: null };
  reassembler.push({ seq: 99, flags: TcpFlag.SYN, payload: new Uint8Array(0), missing: 0 }, origin);
  for (let i = 0; i <= MAX_PENDING_SEGMENTS; i++) {
    reassembler.push({
      seq: 110 + i,
      flags: TcpFlag.ACK,
      payload: Uint8Array.of(i & 0xff),
      missing: 0,
    }, origin);
  }
  assert.deepEqual(events.slice(0, 2), ["gap 10", "bytes 1"]);
  assert.equal(events.length, 1 + MAX_PENDING_SEGMENTS + 1);
  reassembler.push(
    { seq: 100, flags: TcpFlag.ACK, payload: new Uint8Array(10), missing: 0 },
    origin,
  );
  reassembler.finish();
  assert.equal(events.length, 1 + MAX_PENDING_SEGMENTS + 1);
});

Deno.test("collectMessages() reads a stream on another port from its answer on, and the request before it", () => {
  const elsewhere: RecordedConnection = {
    client: { hostname: "127.0.0.1", port: 50002 },
    server: { hostname: "127.0.0.1", port: 5555 },
  };
  // A request that is not a pickle does not look like calcnet's; its answer does.
  const request = ONE.request.slice(0, 24);
  request.set(new TextEncoder().encode("not a pickle"), 12);
  request[4] = 0;
  request[5] = 24;
  const packets = record((send) => {
    send("client", request);
    send("server", TWO.response);
  }, elsewhere);
  const { items, summary } = collectMessages(packets);
  assert.equal(summary.calcnetStreams, 1);
  assert.deepEqual(messages(items), [request, TWO.response]);
});
