import assert from "node:assert/strict";
import {
  type CapturedPacket,
  CaptureFile,
  PcapngWriter,
  readCapture,
  STOP_RESERVE_BYTES,
} from "../src/capture/mod.ts";
import { type TcpSegment, tcpSegmentOf } from "../src/capture/tcp_segment.ts";
import { TcpFlag } from "../src/capture/tcp_ip_layout.ts";
import { recordToBytes } from "./helpers/capture_files.ts";
import { V4, V6 } from "./helpers/capture_traffic.ts";
import { concat } from "./helpers/bytes.ts";
import { withTempDir } from "./helpers/fs.ts";
import { fixturePath } from "./helpers/python.ts";

const T0 = 1_700_000_000_000;

/** Sequence numbers from a fixed source: client, server, client, … */
function fixedIsn(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

function segments(file: Uint8Array): { packet: CapturedPacket; tcp: TcpSegment }[] {
  const { packets, problems } = readCapture(file);
  assert.deepEqual(problems, []);
  return packets.map((packet) => ({ packet, tcp: tcpSegmentOf(packet.data) as TcpSegment }));
}

/** The one's-complement sum of 16-bit words, folded: 0xffff when a checksum verifies. */
function wordSum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] as number) << 8 | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Whether the IPv4 header checksum and the TCP checksum (with its pseudo-header) verify. */
function checksumsVerify(ip: Uint8Array): boolean {
  const v4 = ip[0] === 0x45;
  const ipHeader = v4 ? 20 : 40;
  const tcp = ip.subarray(ipHeader);
  const addresses = v4 ? ip.subarray(12, 20) : ip.subarray(8, 40);
  const pseudo = concat([addresses, Uint8Array.of(0, 6, tcp.length >>> 8, tcp.length & 0xff)]);
  const tcpOk =
    wordSum(concat([pseudo, tcp.length % 2 === 0 ? tcp : concat([tcp, Uint8Array.of(0)])])) ===
      0xffff;
  return tcpOk && (!v4 || wordSum(ip.subarray(0, 20)) === 0xffff);
}

Deno.test("PcapngWriter starts with a section header and one LINKTYPE_RAW interface in microseconds", () => {
  const file = recordToBytes(() => {}, { application: "calcnet test" });
  const view = new DataView(file.buffer);
  assert.equal(view.getUint32(0, true), 0x0a0d0d0a);
  assert.equal(view.getUint32(8, true), 0x1a2b3c4d);
  const shbLength = view.getUint32(4, true);
  assert.ok(new TextDecoder().decode(file.subarray(0, shbLength)).includes("calcnet test"));
  assert.equal(view.getUint32(shbLength, true), 1);
  assert.equal(view.getUint16(shbLength + 8, true), 101);
  assert.equal(shbLength + view.getUint32(shbLength + 4, true), file.length);
  assert.deepEqual(readCapture(file), { format: "pcapng", packets: [], problems: [] });
});

Deno.test("open() writes SYN, SYN-ACK and ACK from the initial sequence numbers, the comment on the SYN", () => {
  const file = recordToBytes((w) => w.open(V4, T0), { initialSequence: fixedIsn(1000, 5000) });
  const got = segments(file);
  assert.deepEqual(got.map(({ tcp }) => [tcp.flags, tcp.seq, tcp.ack]), [
    [TcpFlag.SYN, 1000, 0],
    [TcpFlag.SYN | TcpFlag.ACK, 5000, 1001],
    [TcpFlag.ACK, 1001, 5001],
  ]);
  assert.deepEqual(got.map(({ tcp }) => [tcp.sourcePort, tcp.destinationPort]), [
    [50000, 9999],
    [9999, 50000],
    [50000, 9999],
  ]);
  assert.deepEqual(got.map(({ packet }) => packet.comments), [["experiment 3.1"], [], []]);
  assert.deepEqual(got.map(({ packet }) => packet.timeNs), Array(3).fill(BigInt(T0) * 1_000_000n));
});

Deno.test("data() writes one segment per call at the sender's next sequence number, acking the peer", () => {
  const file = recordToBytes((w) => {
    w.open(V4, T0);
    w.data(V4, "client", new Uint8Array(376).fill(1), T0 + 1.5);
    w.data(V4, "server", new Uint8Array(60).fill(2), T0 + 2);
    w.data(V4, "client", new Uint8Array(10).fill(3), T0 + 3);
  }, { initialSequence: fixedIsn(1000, 5000) });
  const data = segments(file).slice(3);
  assert.deepEqual(data.map(({ tcp }) => [tcp.flags, tcp.seq, tcp.ack, tcp.payload.length]), [
    [TcpFlag.PSH | TcpFlag.ACK, 1001, 5001, 376],
    [TcpFlag.PSH | TcpFlag.ACK, 5001, 1377, 60],
    [TcpFlag.PSH | TcpFlag.ACK, 1377, 5061, 10],
  ]);
  assert.deepEqual(data[1]?.tcp.payload, new Uint8Array(60).fill(2));
  assert.equal(data[0]?.packet.timeNs, (BigInt(T0) * 1000n + 1500n) * 1000n);
});

Deno.test("data() splits a write of more than 65495 bytes into segments of at most 65495", () => {
  const bytes = Uint8Array.from({ length: 150_000 }, (_, i) => i % 251);
  const file = recordToBytes((w) => {
    w.open(V6, T0);
    w.data(V6, "client", bytes, T0);
  }, { initialSequence: fixedIsn(7, 9) });
  const data = segments(file).slice(3);
  assert.deepEqual(data.map(({ tcp }) => [tcp.seq, tcp.payload.length]), [
    [8, 65495],
    [8 + 65495, 65495],
    [8 + 2 * 65495, 150_000 - 2 * 65495],
  ]);
  assert.deepEqual(concat(data.map(({ tcp }) => tcp.payload)), bytes);
});

Deno.test("close() writes the closer's FIN, the peer's FIN and the closer's ACK", () => {
  const file = recordToBytes((w) => {
    w.open(V4, T0);
    w.data(V4, "client", new Uint8Array(5), T0);
    w.close(V4, "server", T0 + 9);
  }, { initialSequence: fixedIsn(1000, 5000) });
  const fin = TcpFlag.FIN | TcpFlag.ACK;
  assert.deepEqual(
    segments(file).slice(4).map(({ tcp }) => [tcp.sourcePort, tcp.flags, tcp.seq, tcp.ack]),
    [
      [9999, fin, 5001, 1006],
      [50000, fin, 1006, 5002],
      [9999, TcpFlag.ACK, 5002, 1007],
    ],
  );
});

Deno.test("every IPv4 header checksum and every TCP checksum verifies, IPv4 and IPv6, odd lengths too", () => {
  const file = recordToBytes((w) => {
    for (const conn of [V4, V6]) {
      w.open(conn);
      w.data(conn, "client", Uint8Array.of(1, 2, 3));
      w.data(conn, "server", new Uint8Array(70_001).fill(0xff));
      w.close(conn, "client");
    }
  });
  const packets = segments(file).map(({ packet }) => packet.data);
  assert.equal(packets.length, 2 * (3 + 1 + 2 + 3));
  for (const ip of packets) assert.ok(checksumsVerify(ip));
  // The check itself fails on a damaged packet.
  const damaged = (packets[4] as Uint8Array).slice();
  damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 1;
  assert.equal(checksumsVerify(damaged), false);
});

Deno.test("an IPv4 end talking to an IPv6 end is written as IPv4-mapped IPv6", () => {
  const mixed = {
    client: { hostname: "127.0.0.1", port: 1234 },
    server: { hostname: "::1", port: 9999 },
  };
  const [syn] = segments(recordToBytes((w) => w.open(mixed)));
  assert.equal(syn?.packet.data[0], 0x60);
  assert.deepEqual(
    syn?.tcp.source,
    Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1),
  );
});

Deno.test("sequence numbers wrap around 2**32", () => {
  const file = recordToBytes((w) => {
    w.open(V4, T0);
    w.data(V4, "client", new Uint8Array(300), T0);
    w.data(V4, "client", new Uint8Array(1), T0);
  }, { initialSequence: fixedIsn(0xffffff00, 1) });
  assert.deepEqual(segments(file).slice(3).map(({ tcp }) => tcp.seq), [0xffffff01, 0x2d]);
});

Deno.test("maxBytes: the packet that does not fit is written headers-only with a comment, then nothing", () => {
  const reasons: string[] = [];
  const maxBytes = 3000;
  let writer: PcapngWriter | undefined;
  const file = recordToBytes((w) => {
    writer = w;
    w.open(V4, T0);
    for (let i = 0; i < 10; i++) w.data(V4, "client", new Uint8Array(400).fill(i), T0 + i);
    w.close(V4, "client", T0 + 20);
    w.open(V6, T0 + 30);
  }, { maxBytes, onStop: (reason) => reasons.push(reason) });
  assert.ok(file.length <= maxBytes && file.length > maxBytes - STOP_RESERVE_BYTES - 500);
  assert.deepEqual(reasons, [`the capture reached its size limit of ${maxBytes} bytes`]);
  assert.equal(writer?.stopReason, reasons[0]);
  const got = segments(file);
  const last = got[got.length - 1];
  assert.ok(
    last !== undefined && last.packet.comments[0]?.startsWith("calcnet stopped recording here"),
  );
  assert.equal(last.packet.data.length, 40);
  assert.equal(last.packet.originalLength, 440);
  assert.ok(got.slice(3, -1).every(({ tcp }) => tcp.payload.length === 400));
});

Deno.test("a write that fails stops recording with the error, reported once", () => {
  const reasons: string[] = [];
  let calls = 0;
  const writer = new PcapngWriter({
    write: () => {
      if (++calls > 3) throw new Error("No space left on device");
    },
    onStop: (reason) => reasons.push(reason),
  });
  writer.open(V4);
  writer.data(V4, "client", new Uint8Array(10));
  writer.close(V4, "client");
  assert.deepEqual(reasons, ["cannot write the capture: No space left on device"]);
  assert.equal(calls, 4);
});

Deno.test("data() and close() on a connection that is not open throw; the size limit is checked", () => {
  const writer = new PcapngWriter({ write: () => {} });
  assert.throws(() => writer.data(V4, "client", new Uint8Array(1)), /not opened, or was closed/);
  writer.open(V4);
  writer.close(V4, "client");
  assert.throws(() => writer.close(V4, "client"), /not opened, or was closed/);
  assert.throws(() => new PcapngWriter({ write: () => {}, maxBytes: 600 }), RangeError);
  assert.throws(
    () => writer.open({ ...V4, client: { hostname: "localhost", port: 1 } }),
    RangeError,
  );
});

Deno.test("CaptureFile writes each block as it happens: a process killed with SIGKILL leaves a whole file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/killed.pcapng`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-write", fixturePath("record_and_hang.ts"), path],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assert.equal(new TextDecoder().decode(value).trim(), "recorded");
    child.kill("SIGKILL");
    reader.releaseLock();
    await child.stdout.cancel();
    assert.equal((await child.status).signal, "SIGKILL");
    const { packets, problems } = readCapture(await Deno.readFile(path));
    assert.deepEqual(problems, []);
    assert.equal(packets.length, 3 + 20);
  });
});

Deno.test("CaptureFile.finish() closes the file; later calls record nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/a.pcapng`;
    {
      using capture = CaptureFile.create(path, { application: "test" });
      capture.open(V4);
      capture.finish();
      capture.data(V4, "client", new Uint8Array(5));
      assert.equal(capture.bytesWritten, (await Deno.stat(path)).size);
    }
    assert.equal(readCapture(await Deno.readFile(path)).packets.length, 3);
    assert.throws(() => CaptureFile.create(`${dir}/missing/b.pcapng`), Deno.errors.NotFound);
  });
});
