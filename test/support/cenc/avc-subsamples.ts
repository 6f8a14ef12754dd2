/** One CENC subsample: clear bytes followed by protected bytes. */
export interface Subsample {
  clear: number;
  protected: number;
}

/** Bytes of every VCL NAL unit left clear after its length prefix: the NAL header and a margin. */
const CLEAR_NAL_HEAD = 32;
const MAX_CLEAR = 0xffff;

/**
 * The subsample map of one AVC sample (length-prefixed NAL units), the way packagers do it: the
 * length prefixes, the NAL headers and the start of each slice stay clear, non-VCL units (SPS,
 * PPS, SEI, AUD) stay wholly clear, and the rest of each slice is protected in whole 16-byte
 * blocks.
 */
export function avcSubsamples(sample: Buffer, nalLengthSize: number): Subsample[] {
  const subsamples: Subsample[] = [];
  let pendingClear = 0;
  let at = 0;
  while (at < sample.length) {
    if (at + nalLengthSize > sample.length) throw new Error(`truncated NAL length at ${at}`);
    const nalSize = sample.readUIntBE(at, nalLengthSize);
    const unit = nalLengthSize + nalSize;
    if (nalSize === 0 || at + unit > sample.length) {
      throw new Error(
        `NAL unit of ${nalSize} bytes at ${at} overruns the ${sample.length}-byte sample`,
      );
    }
    const nalType = sample.readUInt8(at + nalLengthSize) & 0x1f;
    const isSlice = nalType >= 1 && nalType <= 5;
    const protectedBytes = isSlice
      ? Math.max(0, Math.floor((nalSize - CLEAR_NAL_HEAD) / 16) * 16)
      : 0;
    pendingClear += unit - protectedBytes;
    if (protectedBytes > 0) {
      pushSubsample(subsamples, pendingClear, protectedBytes);
      pendingClear = 0;
    }
    at += unit;
  }
  if (pendingClear > 0) pushSubsample(subsamples, pendingClear, 0);
  return subsamples;
}

/** BytesOfClearData is 16 bits: a longer clear run becomes several subsamples. */
function pushSubsample(into: Subsample[], clear: number, protectedBytes: number): void {
  let rest = clear;
  while (rest > MAX_CLEAR) {
    into.push({ clear: MAX_CLEAR, protected: 0 });
    rest -= MAX_CLEAR;
  }
  into.push({ clear: rest, protected: protectedBytes });
}
