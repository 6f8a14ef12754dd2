/**
 * Just enough ISO BMFF (MP4) box handling for the test clip: read the boxes of a range, find a
 * child, and write boxes back with their sizes recomputed. 32-bit sizes only (the clip is tiny).
 */
export interface Box {
  type: string;
  /** Offset of the box header in the buffer it was read from. */
  start: number;
  /** Size including the header. */
  size: number;
}

export function readBoxes(buf: Buffer, start = 0, end = buf.length): Box[] {
  const boxes: Box[] = [];
  let at = start;
  while (at < end) {
    if (end - at < 8) throw new Error(`truncated box header at ${at}`);
    const size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    if (size < 8 || at + size > end) throw new Error(`box ${type} at ${at} has bad size ${size}`);
    boxes.push({ type, start: at, size });
    at += size;
  }
  return boxes;
}

/** The one child of `type` in `parent` whose children begin `childOffset` bytes into it. */
export function childOf(buf: Buffer, parent: Box, type: string, childOffset = 8): Box {
  const found = readBoxes(buf, parent.start + childOffset, parent.start + parent.size).filter(
    (b) => b.type === type,
  );
  if (found.length !== 1) {
    throw new Error(`expected one ${type} in ${parent.type}, found ${found.length}`);
  }
  return found[0];
}

/** Follows a path of container boxes (each with its children right after the 8-byte header). */
export function pathOf(buf: Buffer, root: Box, ...types: string[]): Box {
  return types.reduce((parent, type) => childOf(buf, parent, type), root);
}

export function payloadOf(buf: Buffer, b: Box): Buffer {
  return buf.subarray(b.start + 8, b.start + b.size);
}

export function box(type: string, ...payload: Buffer[]): Buffer {
  if (type.length !== 4) throw new Error(`box type ${type} is not four characters`);
  const header = Buffer.alloc(8);
  const body = Buffer.concat(payload);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

export function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]) {
  const versionAndFlags = Buffer.alloc(4);
  versionAndFlags.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, versionAndFlags, ...payload);
}

export function u8(value: number): Buffer {
  return Buffer.from([value]);
}

export function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value, 0);
  return b;
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value, 0);
  return b;
}

/**
 * Rewrites a container box: the same type (or `newType`), the bytes between its header and its
 * children (`childOffset` - 8 of them) kept, each child replaced by what `map` returns for it
 * (a copy when map returns undefined), and `append` added at the end. Sizes are recomputed.
 */
export function rebuild(
  buf: Buffer,
  parent: Box,
  options: {
    childOffset?: number;
    newType?: string;
    map?: (child: Box) => Buffer | undefined;
    append?: Buffer[];
  },
): Buffer {
  const childOffset = options.childOffset ?? 8;
  const fields = buf.subarray(parent.start + 8, parent.start + childOffset);
  const children = readBoxes(buf, parent.start + childOffset, parent.start + parent.size).map(
    (child) => options.map?.(child) ?? buf.subarray(child.start, child.start + child.size),
  );
  return box(options.newType ?? parent.type, fields, ...children, ...(options.append ?? []));
}
