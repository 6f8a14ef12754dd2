import { Box, box, childOf, fullBox, pathOf, readBoxes, rebuild, u32, u8 } from './mp4-boxes';

/** The W3C "common" protection system id, whose pssh carries key ids (ClearKey reads it). */
export const COMMON_SYSTEM_ID = Buffer.from('1077efecc0b24d02ace33c1e52e2fb4b', 'hex');

/** What the fragments and the manifest need to know about the one video track. */
export interface VideoTrackInfo {
  timescale: number;
  width: number;
  height: number;
  /** RFC 6381 codec string, e.g. avc1.42c01e. */
  codecs: string;
  /** Bytes of the length prefix of each NAL unit in a sample (from avcC). */
  nalLengthSize: number;
  /** trex defaults, used when neither tfhd nor trun gives a sample's size or duration. */
  defaultSampleDuration: number;
  defaultSampleSize: number;
}

/** Bytes in a VisualSampleEntry before its child boxes (header included). */
const VISUAL_SAMPLE_ENTRY_CHILDREN = 8 + 78;
/** stsd: header, version/flags, entry_count. */
const STSD_CHILDREN = 16;

/** A version-1 pssh of the common system listing the key ids (no system data). */
export function commonPssh(kids: Buffer[]): Buffer {
  return fullBox('pssh', 1, 0, COMMON_SYSTEM_ID, u32(kids.length), ...kids, u32(0));
}

/** sinf for scheme 'cenc' (AES-CTR) with 8-byte per-sample IVs and one default KID. */
function protectionInfo(originalFormat: string, kid: Buffer): Buffer {
  const frma = box('frma', Buffer.from(originalFormat, 'latin1'));
  const schm = fullBox('schm', 0, 0, Buffer.from('cenc', 'latin1'), u32(0x00010000));
  // tenc v0: reserved, reserved, default_isProtected, default_Per_Sample_IV_Size, default_KID.
  const tenc = fullBox('tenc', 0, 0, u8(0), u8(0), u8(1), u8(8), kid);
  return box('sinf', frma, schm, box('schi', tenc));
}

function trackInfo(init: Buffer, moov: Box): VideoTrackInfo {
  const mdia = pathOf(init, moov, 'trak', 'mdia');
  const mdhd = childOf(init, mdia, 'mdhd');
  const mdhdVersion = init.readUInt8(mdhd.start + 8);
  const timescale = init.readUInt32BE(mdhd.start + 12 + (mdhdVersion === 1 ? 16 : 8));
  const stsd = pathOf(init, mdia, 'minf', 'stbl', 'stsd');
  const avc1 = childOf(init, stsd, 'avc1', STSD_CHILDREN);
  const avcC = childOf(init, avc1, 'avcC', VISUAL_SAMPLE_ENTRY_CHILDREN);
  const config = init.subarray(avcC.start + 8, avcC.start + avcC.size);
  const trex = pathOf(init, moov, 'mvex', 'trex');
  return {
    timescale,
    width: init.readUInt16BE(avc1.start + 32),
    height: init.readUInt16BE(avc1.start + 34),
    codecs: `avc1.${config.subarray(1, 4).toString('hex')}`,
    nalLengthSize: (config.readUInt8(4) & 0x03) + 1,
    defaultSampleDuration: init.readUInt32BE(trex.start + 20),
    defaultSampleSize: init.readUInt32BE(trex.start + 24),
  };
}

/**
 * Turns a clear fragmented-MP4 init segment (ftyp + moov, one avc1 video track) into a CENC one:
 * avc1 becomes encv with a sinf (frma/schm/schi/tenc) appended, and moov gets a common pssh.
 */
export function encryptInitSegment(
  init: Buffer,
  kid: Buffer,
): { segment: Buffer; track: VideoTrackInfo } {
  const top = readBoxes(init);
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) throw new Error('init segment without moov');
  const traks = readBoxes(init, moov.start + 8, moov.start + moov.size).filter(
    (b) => b.type === 'trak',
  );
  if (traks.length !== 1) throw new Error(`expected one track in the clip, found ${traks.length}`);
  const track = trackInfo(init, moov);
  const sampleEntry = (stsd: Box) =>
    rebuild(init, stsd, {
      childOffset: STSD_CHILDREN,
      map: (entry) =>
        entry.type === 'avc1'
          ? rebuild(init, entry, {
              childOffset: VISUAL_SAMPLE_ENTRY_CHILDREN,
              newType: 'encv',
              append: [protectionInfo('avc1', kid)],
            })
          : undefined,
    });
  const descend = (b: Box, path: string[]): Buffer =>
    path.length === 0
      ? sampleEntry(b)
      : rebuild(init, b, {
          map: (child) => (child.type === path[0] ? descend(child, path.slice(1)) : undefined),
        });
  const newMoov = rebuild(init, moov, {
    map: (child) =>
      child.type === 'trak' ? descend(child, ['mdia', 'minf', 'stbl', 'stsd']) : undefined,
    append: [commonPssh([kid])],
  });
  const segment = Buffer.concat(
    top.map((b) => (b === moov ? newMoov : init.subarray(b.start, b.start + b.size))),
  );
  return { segment, track };
}
