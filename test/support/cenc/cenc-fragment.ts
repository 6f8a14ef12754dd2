import { createCipheriv, randomBytes } from 'node:crypto';
import { avcSubsamples, Subsample } from './avc-subsamples';
import { VideoTrackInfo } from './cenc-init';
import { Box, childOf, fullBox, readBoxes, rebuild, u16, u32, u8 } from './mp4-boxes';

const TFHD_BASE_DATA_OFFSET = 0x1;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x2;
const TFHD_DEFAULT_DURATION = 0x8;
const TFHD_DEFAULT_SIZE = 0x10;
const TRUN_DATA_OFFSET = 0x1;
const TRUN_FIRST_SAMPLE_FLAGS = 0x4;
const TRUN_DURATION = 0x100;
const TRUN_SIZE = 0x200;
const TRUN_FLAGS = 0x400;
const TRUN_CTO = 0x800;
/** senc flag: every sample carries a subsample map. */
const SENC_USE_SUBSAMPLES = 0x2;

interface Sample {
  offset: number;
  size: number;
  duration: number;
}

/** Where the media time of a fragment starts and how long it lasts, in track timescale units. */
export interface FragmentTiming {
  start: number;
  duration: number;
}

function flagsOf(buf: Buffer, b: Box): number {
  return buf.readUInt32BE(b.start + 8) & 0xffffff;
}

function samplesOf(frag: Buffer, traf: Box, track: VideoTrackInfo): Sample[] {
  const tfhd = childOf(frag, traf, 'tfhd');
  const tfhdFlags = flagsOf(frag, tfhd);
  if (tfhdFlags & TFHD_BASE_DATA_OFFSET) throw new Error('explicit base_data_offset unsupported');
  let at = tfhd.start + 16;
  if (tfhdFlags & TFHD_SAMPLE_DESCRIPTION_INDEX) at += 4;
  let defaultDuration = track.defaultSampleDuration;
  let defaultSize = track.defaultSampleSize;
  if (tfhdFlags & TFHD_DEFAULT_DURATION) {
    defaultDuration = frag.readUInt32BE(at);
    at += 4;
  }
  if (tfhdFlags & TFHD_DEFAULT_SIZE) defaultSize = frag.readUInt32BE(at);

  const trun = childOf(frag, traf, 'trun');
  const flags = flagsOf(frag, trun);
  if (!(flags & TRUN_DATA_OFFSET)) throw new Error('trun without data_offset unsupported');
  const count = frag.readUInt32BE(trun.start + 12);
  let offset = frag.readInt32BE(trun.start + 16);
  at = trun.start + 20 + (flags & TRUN_FIRST_SAMPLE_FLAGS ? 4 : 0);
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    let duration = defaultDuration;
    let size = defaultSize;
    if (flags & TRUN_DURATION) {
      duration = frag.readUInt32BE(at);
      at += 4;
    }
    if (flags & TRUN_SIZE) {
      size = frag.readUInt32BE(at);
      at += 4;
    }
    at += (flags & TRUN_FLAGS ? 4 : 0) + (flags & TRUN_CTO ? 4 : 0);
    samples.push({ offset, size, duration });
    offset += size;
  }
  return samples;
}

/** AES-128-CTR over the protected ranges of one sample, as one keystream (scheme 'cenc'). */
function encryptSample(data: Buffer, subsamples: Subsample[], key: Buffer, iv: Buffer): void {
  const ranges: Array<[number, number]> = [];
  let at = 0;
  for (const s of subsamples) {
    at += s.clear;
    if (s.protected > 0) ranges.push([at, at + s.protected]);
    at += s.protected;
  }
  if (at !== data.length) throw new Error(`subsamples cover ${at} of ${data.length} bytes`);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.concat([iv, Buffer.alloc(8)]));
  const plain = Buffer.concat(ranges.map(([from, to]) => data.subarray(from, to)));
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  let read = 0;
  for (const [from, to] of ranges) {
    sealed.copy(data, from, read, read + (to - from));
    read += to - from;
  }
}

function sencBox(ivs: Buffer[], maps: Subsample[][]): Buffer {
  const entries = ivs.map((iv, i) =>
    Buffer.concat([
      iv,
      u16(maps[i].length),
      ...maps[i].map((s) => Buffer.concat([u16(s.clear), u32(s.protected)])),
    ]),
  );
  return fullBox('senc', 0, SENC_USE_SUBSAMPLES, u32(ivs.length), ...entries);
}

/**
 * Encrypts one media fragment (moof + mdat, one video traf) with CENC: each sample's slice data
 * is AES-CTR encrypted under a fresh 8-byte IV, and the traf gains saiz, saio and senc with the
 * IVs and subsample maps; trun's data_offset moves by the bytes added to moof.
 */
export function encryptFragment(
  fragment: Buffer,
  track: VideoTrackInfo,
  key: Buffer,
): { segment: Buffer; timing: FragmentTiming } {
  const frag = Buffer.from(fragment);
  const top = readBoxes(frag);
  const [moof, mdat] = [top.find((b) => b.type === 'moof'), top.find((b) => b.type === 'mdat')];
  if (!moof || !mdat || moof.start !== 0) throw new Error('fragment is not moof + mdat');
  const traf = childOf(frag, moof, 'traf');
  const tfdt = childOf(frag, traf, 'tfdt');
  const start =
    frag.readUInt8(tfdt.start + 8) === 1
      ? Number(frag.readBigUInt64BE(tfdt.start + 12))
      : frag.readUInt32BE(tfdt.start + 12);
  const samples = samplesOf(frag, traf, track);

  const ivs = samples.map(() => randomBytes(8));
  const maps = samples.map((s, i) => {
    const data = frag.subarray(s.offset, s.offset + s.size);
    const map = avcSubsamples(data, track.nalLengthSize);
    encryptSample(data, map, key, ivs[i]);
    return map;
  });
  const infoSizes = maps.map((m) => 8 + 2 + 6 * m.length);
  if (infoSizes.some((size) => size > 0xff))
    throw new Error('sample auxiliary info over 255 bytes');
  const saiz = fullBox('saiz', 0, 0, u8(0), u32(samples.length), Buffer.from(infoSizes));
  const saio = fullBox('saio', 0, 0, u32(1), u32(0));
  const senc = sencBox(ivs, maps);
  const added = saiz.length + saio.length + senc.length;

  const newMoof = rebuild(frag, moof, {
    map: (child) =>
      child.type !== 'traf'
        ? undefined
        : rebuild(frag, child, {
            map: (grandchild) => {
              if (grandchild.type !== 'trun') return undefined;
              const trun = Buffer.from(
                frag.subarray(grandchild.start, grandchild.start + grandchild.size),
              );
              trun.writeInt32BE(trun.readInt32BE(16) + added, 16);
              return trun;
            },
            append: [saiz, saio, senc],
          }),
  });
  // saio points at the first sample's entry in senc, counted from the start of moof.
  const moofBox = readBoxes(newMoof)[0];
  const newTraf = childOf(newMoof, moofBox, 'traf');
  const sencAt = childOf(newMoof, newTraf, 'senc').start + 16;
  newMoof.writeUInt32BE(sencAt, childOf(newMoof, newTraf, 'saio').start + 16);

  const rest = top.filter((b) => b !== moof).map((b) => frag.subarray(b.start, b.start + b.size));
  return {
    segment: Buffer.concat([newMoof, ...rest]),
    timing: { start, duration: samples.reduce((sum, s) => sum + s.duration, 0) },
  };
}
