import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * The MD5 of every decoded frame of an MP4, by ffmpeg (`-f framemd5`); with `keyHex`, ffmpeg
 * decrypts CENC 'cenc' samples itself from their senc/saiz/saio info first.
 */
export async function frameHashes(file: string, keyHex?: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      ...(keyHex ? ['-decryption_key', keyHex] : []),
      '-i',
      file,
      '-f',
      'framemd5',
      '-',
    ],
    { timeout: 30_000, maxBuffer: 8 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(',').pop()?.trim() ?? '');
}
