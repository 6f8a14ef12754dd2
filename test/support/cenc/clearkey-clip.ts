import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encryptFragment, FragmentTiming } from './cenc-fragment';
import { commonPssh, encryptInitSegment, VideoTrackInfo } from './cenc-init';
import { readBoxes } from './mp4-boxes';

/** A CENC (ClearKey) DASH clip on disk: manifest.mpd, init.mp4, seg-1.m4s ..., clear.mp4. */
export interface ClearKeyClip {
  dir: string;
  /** The clear fragmented MP4 ffmpeg made, kept for comparison. */
  clearFile: string;
  /** Key id and key, 16 bytes each. */
  kid: Buffer;
  key: Buffer;
  track: VideoTrackInfo;
  segments: number;
  durationSeconds: number;
  /** Deletes the directory. */
  remove(): void;
}

/** ffmpeg's moving test pattern, small: every frame has slice data to encrypt. */
const SOURCE = 'testsrc=size=320x180:rate=25:duration={d}';
/**
 * H.264 baseline, a key frame (and so a fragment) every second, no audio; fragmented MP4 whose
 * data offsets count from each moof.
 */
const ENCODE =
  '-hide_banner -loglevel error -y -threads 1 -c:v libx264 -profile:v baseline -level 3.0 ' +
  '-pix_fmt yuv420p -g 25 -keyint_min 25 -sc_threshold 0 -bf 0 -an ' +
  '-movflags +frag_keyframe+empty_moov+default_base_moof';

/** Cuts a fragmented MP4 into its init segment (ftyp + moov) and its moof + mdat fragments. */
function splitFragmented(file: Buffer): { init: Buffer; fragments: Buffer[] } {
  const boxes = readBoxes(file);
  const slice = (from: number, to: number) => file.subarray(from, to);
  const firstMoof = boxes.findIndex((b) => b.type === 'moof');
  if (firstMoof < 1) throw new Error('ffmpeg wrote no fragments');
  const fragments: Buffer[] = [];
  boxes.forEach((b, i) => {
    const next = boxes[i + 1];
    if (b.type === 'moof' && next?.type === 'mdat') {
      fragments.push(slice(b.start, next.start + next.size));
    }
  });
  return { init: slice(0, boxes[firstMoof].start), fragments };
}

function uuidOf(kid: Buffer): string {
  const hex = kid.toString('hex');
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20),
  ].join('-');
}

function manifest(kid: Buffer, track: VideoTrackInfo, timings: FragmentTiming[]): string {
  const total = timings.reduce((sum, t) => sum + t.duration, 0) / track.timescale;
  const timeline = timings.map((t) => `<S t="${t.start}" d="${t.duration}"/>`).join('');
  const pssh = commonPssh([kid]).toString('base64');
  return `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:cenc="urn:mpeg:cenc:2013" type="static"
  profiles="urn:mpeg:dash:profile:isoff-live:2011" minBufferTime="PT1S"
  mediaPresentationDuration="PT${total.toFixed(3)}S">
  <Period id="p0" start="PT0S">
    <AdaptationSet contentType="video" mimeType="video/mp4" segmentAlignment="true">
      <ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc"
        cenc:default_KID="${uuidOf(kid)}"/>
      <ContentProtection schemeIdUri="urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
        value="ClearKey1.0"><cenc:pssh>${pssh}</cenc:pssh></ContentProtection>
      <Representation id="v" bandwidth="300000" codecs="${track.codecs}"
        width="${track.width}" height="${track.height}" frameRate="25">
        <SegmentTemplate timescale="${track.timescale}" initialization="init.mp4"
          media="seg-$Number$.m4s" startNumber="1">
          <SegmentTimeline>${timeline}</SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
`;
}

/**
 * Makes a short clear H.264 clip with ffmpeg (fragmented MP4, one fragment a second) and
 * encrypts it here with CENC under a fresh random key: the ffmpeg of Debian 12 writes encrypted
 * fragments without their per-sample encryption info, which CDMs need.
 */
export async function makeClearKeyClip(seconds = 4): Promise<ClearKeyClip> {
  const dir = mkdtempSync(join(tmpdir(), 'usher-clearkey-clip-'));
  try {
    const clear = join(dir, 'clear.mp4');
    const encode = ENCODE.split(' ');
    const source = SOURCE.replaceAll('{d}', String(seconds));
    await promisify(execFile)('ffmpeg', ['-f', 'lavfi', '-i', source, ...encode, clear], {
      timeout: 30_000,
    });
    const { init, fragments } = splitFragmented(readFileSync(clear));
    const kid = randomBytes(16);
    const key = randomBytes(16);
    const { segment, track } = encryptInitSegment(init, kid);
    writeFileSync(join(dir, 'init.mp4'), segment);
    const timings = fragments.map((fragment, i) => {
      const encrypted = encryptFragment(fragment, track, key);
      writeFileSync(join(dir, `seg-${i + 1}.m4s`), encrypted.segment);
      return encrypted.timing;
    });
    writeFileSync(join(dir, 'manifest.mpd'), manifest(kid, track, timings));
    return {
      dir,
      clearFile: clear,
      kid,
      key,
      track,
      segments: fragments.length,
      durationSeconds: timings.reduce((sum, t) => sum + t.duration, 0) / track.timescale,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
