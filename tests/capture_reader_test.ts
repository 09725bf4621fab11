import assert from "node:assert/strict";
import {
  type CapturedPacket,
  CaptureFormatError,
  LinkType,
  readCapture,
} from "../src/capture/mod.ts";
import {
  epb,
  idb,
  pcapFile,
  pcapngBlock,
  pcapngFile,
  pcapngOption,
  recordToBytes,
  shb,
  spb,
} from "./helpers/capture_files.ts";
import { concat } from "./helpers/bytes.ts";

const CONN = {
  client: { hostname: "127.0.0.1", port: 50000 },
  server: { hostname: "127.0.0.1", port: 9999 },
};
const T0 = 1_700_000_000_123n;

/** Seven raw IP packets recorded by calcnet, their times 1 ms apart from T0 ms, plus nanoseconds. */
function samplePackets(): { data: Uint8Array; timeNs: bigint }[] {
  const file = recordToBytes((w) => {
    w.open(CONN, Number(T0));
    w.data(CONN, "client", Uint8Array.of(1, 2, 3), Number(T0) + 1);
    w.close(CONN, "client", Number(T0) + 2);
  });
  return readCapture(file).packets.map((packet, i) => ({
    data: packet.data,
    timeNs: (T0 + BigInt(i)) * 1_000_000n + 789n,
  }));
}

function view(packets: readonly CapturedPacket[]): [number, number, bigint | null, number][] {
  return packets.map((p) => [p.frame, p.linkType, p.timeNs, p.data.length]);
}

Deno.test("readCapture() reads pcap in both byte orders, with micro- and nanosecond time stamps", () => {
  const packets = samplePackets();
  for (const littleEndian of [true, false]) {
    for (const nanos of [false, true]) {
      const file = pcapFile(packets, { littleEndian, nanos, linkType: LinkType.Raw });
      const got = readCapture(file);
      assert.equal(got.format, "pcap");
      assert.deepEqual(got.problems, []);
      assert.deepEqual(
        view(got.packets),
        packets.map((p, i) => [i + 1, 101, nanos ? p.timeNs : p.timeNs - 789n, p.data.length]),
        `littleEndian ${littleEndian}, nanos ${nanos}`,
      );
      assert.deepEqual(got.packets.map((p) => p.data), packets.map((p) => p.data));
    }
  }
});

Deno.test("readCapture() reads big-endian pcapng, simple packet blocks, and skips unknown blocks", () => {
  const packets = samplePackets();
  const le = false;
  const file = concat([
    shb(le),
    pcapngBlock(0x00000bad, Uint8Array.of(1, 2, 3, 4), le),
    idb(LinkType.Raw, le),
    epb(packets[0] as { data: Uint8Array; timeNs: bigint }, 5_000_000n, le),
    pcapngBlock(0x80000001, new Uint8Array(20), le),
    spb(packets[1] as { data: Uint8Array; timeNs: bigint }, le),
  ]);
  const got = readCapture(file);
  assert.deepEqual(got.problems, []);
  assert.deepEqual(view(got.packets), [
    [1, 101, 5_000_000_000n, packets[0]?.data.length],
    [2, 101, null, packets[1]?.data.length],
  ]);
});

Deno.test("readCapture() follows several sections, byte orders, interfaces and time resolutions", () => {
  const [a, b, c] = samplePackets() as [
    { data: Uint8Array; timeNs: bigint },
    { data: Uint8Array; timeNs: bigint },
    { data: Uint8Array; timeNs: bigint },
  ];
  const file = concat([
    shb(true),
    idb(LinkType.Raw, true, 9),
    idb(LinkType.Ethernet, true, 0x80 | 10),
    epb(a, 1_700_000_000_123_456_789n, true),
    epb(
      { ...b, data: concat([new Uint8Array(12), Uint8Array.of(8, 0), b.data]) },
      1024n * 3n + 512n,
      true,
      1,
    ),
    shb(false),
    idb(LinkType.Raw, false),
    epb(c, 42n, false),
  ]);
  const got = readCapture(file);
  assert.deepEqual(got.problems, []);
  assert.deepEqual(view(got.packets), [
    [1, 101, 1_700_000_000_123_456_789n, a.data.length],
    [2, 1, 3_500_000_000n, b.data.length + 14],
    [3, 101, 42_000n, c.data.length],
  ]);
});

Deno.test("readCapture() reads packet comments and a capture length below the packet's", () => {
  const [a] = samplePackets() as [{ data: Uint8Array; timeNs: bigint }];
  const le = true;
  const fixed = new DataView(new ArrayBuffer(20));
  fixed.setUint32(12, 20, le);
  fixed.setUint32(16, a.data.length, le);
  const comment = new TextEncoder().encode("experiment 3.2");
  const body = concat([
    new Uint8Array(fixed.buffer),
    a.data.subarray(0, 20),
    pcapngOption(1, comment, le),
    pcapngOption(1, Uint8Array.of(0x68, 0x69), le),
    new Uint8Array(4),
  ]);
  const got = readCapture(concat([shb(le), idb(LinkType.Raw, le), pcapngBlock(6, body, le)]));
  assert.deepEqual(got.packets[0]?.comments, ["experiment 3.2", "hi"]);
  assert.equal(got.packets[0]?.data.length, 20);
  assert.equal(got.packets[0]?.originalLength, a.data.length);
});

Deno.test("readCapture() of a file cut anywhere keeps the whole packets before the cut", () => {
  const packets = samplePackets();
  const pcapng = pcapngFile(packets, LinkType.Raw, true);
  const pcap = pcapFile(packets, { littleEndian: false, nanos: false, linkType: LinkType.Raw });
  // Where the whole blocks / records end.
  const pcapngEnds = [0];
  while ((pcapngEnds.at(-1) as number) < pcapng.length) {
    pcapngEnds.push(
      (pcapngEnds.at(-1) as number) + readLength(pcapng, pcapngEnds.at(-1) as number),
    );
  }
  const pcapEnds = [24];
  for (const packet of packets) {
    pcapEnds.push((pcapEnds.at(-1) as number) + 16 + packet.data.length);
  }
  for (const [file, ends] of [[pcapng, pcapngEnds], [pcap, pcapEnds]] as const) {
    const whole = readCapture(file);
    for (let cut = 4; cut < file.length; cut++) {
      let got;
      try {
        got = readCapture(file.subarray(0, cut));
      } catch (error: unknown) {
        // Only a cut inside the very first header leaves nothing readable.
        assert.ok(error instanceof CaptureFormatError && cut < 32, `cut at ${cut}: ${error}`);
        continue;
      }
      assert.deepEqual(got.packets, whole.packets.slice(0, got.packets.length), `cut at ${cut}`);
      // The file header (pcap) or the section header and interface block (pcapng) come first.
      const headerEnds = file === pcap ? 1 : 3;
      const expected = Math.max(0, ends.filter((end) => end <= cut).length - headerEnds);
      assert.equal(got.packets.length, expected, `cut at ${cut}`);
      if (ends.includes(cut)) assert.deepEqual(got.problems, [], `cut at ${cut}`);
      else assert.match(got.problems[0] ?? "", /ends in the middle/, `cut at ${cut}`);
    }
  }
});

Deno.test("readCapture() stops at a corrupt block and says why", () => {
  const packets = samplePackets();
  const file = pcapngFile(packets, LinkType.Raw, true);
  const shbAndIdb = readLength(file, 0) + readLength(file, readLength(file, 0));
  const broken = file.slice();
  new DataView(broken.buffer).setUint32(shbAndIdb + 4, 13, true);
  const got = readCapture(broken);
  assert.equal(got.packets.length, 0);
  assert.match(got.problems[0] ?? "", /impossible length \(13\)/);
  const mismatched = file.slice();
  const epbLength = readLength(file, shbAndIdb);
  new DataView(mismatched.buffer).setUint32(shbAndIdb + epbLength - 4, 4, true);
  assert.match(readCapture(mismatched).problems[0] ?? "", /does not end with its length/);
});

function readLength(file: Uint8Array, at: number): number {
  return new DataView(file.buffer, file.byteOffset).getUint32(at + 4, true);
}

Deno.test("readCapture() refuses bytes that are no capture file", () => {
  assert.throws(() => readCapture(new TextEncoder().encode("hello world")), CaptureFormatError);
  assert.throws(() => readCapture(new Uint8Array(0)), CaptureFormatError);
  assert.throws(() => readCapture(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 2, 0)), CaptureFormatError);
  const badMagic = shb(true);
  badMagic[8] = 0;
  assert.throws(() => readCapture(badMagic), /byte-order magic/);
});
