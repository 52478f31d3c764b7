import { inflateSync } from "node:zlib";

/**
 * A minimal PNG decoder (8-bit, non-interlaced; grey, grey+alpha, RGB, RGBA) and a pixel comparison, for
 * the golden-image test of the screenshots. Chromium writes exactly these PNGs; anything else is refused
 * with a clear error rather than decoded wrongly. Comparing decoded pixels, not bytes, keeps the test
 * independent of zlib settings and PNG metadata.
 */

export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes, row-major, RGBA. */
  pixels: Uint8Array;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  if (toLeft <= toUp && toLeft <= toUpLeft) return left;
  return toUp <= toUpLeft ? up : upLeft;
}

export function decodePng(bytes: Uint8Array): RgbaImage {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length < 8 || !SIGNATURE.every((value, index) => data[index] === value))
    throw new Error("not a PNG file");
  let offset = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const compressed: Buffer[] = [];
  while (offset + 8 <= data.length) {
    const length = data.readUInt32BE(offset);
    const type = data.toString("latin1", offset + 4, offset + 8);
    const body = data.subarray(offset + 8, offset + 8 + length);
    offset += 12 + length;
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const bitDepth = body[8];
      colorType = body[9] ?? -1;
      const interlace = body[12];
      if (bitDepth !== 8) throw new Error(`PNG bit depth ${bitDepth} is not supported (only 8)`);
      if (CHANNELS[colorType] === undefined) throw new Error(`PNG colour type ${colorType} is not supported`);
      if (interlace !== 0) throw new Error("interlaced PNGs are not supported");
    } else if (type === "IDAT") {
      compressed.push(body);
    } else if (type === "IEND") {
      break;
    }
  }
  const channels = CHANNELS[colorType];
  if (channels === undefined || width === 0 || height === 0) throw new Error("PNG has no usable IHDR");
  const raw = inflateSync(Buffer.concat(compressed));
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) throw new Error("PNG image data is truncated");

  const unfiltered = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const source = y * (stride + 1) + 1;
    const target = y * stride;
    for (let x = 0; x < stride; x++) {
      const value = raw[source + x] ?? 0;
      const left = x >= channels ? (unfiltered[target + x - channels] ?? 0) : 0;
      const up = y > 0 ? (unfiltered[target - stride + x] ?? 0) : 0;
      const upLeft = y > 0 && x >= channels ? (unfiltered[target - stride + x - channels] ?? 0) : 0;
      let predicted: number;
      switch (filter) {
        case 0:
          predicted = 0;
          break;
        case 1:
          predicted = left;
          break;
        case 2:
          predicted = up;
          break;
        case 3:
          predicted = (left + up) >> 1;
          break;
        case 4:
          predicted = paeth(left, up, upLeft);
          break;
        default:
          throw new Error(`PNG row ${y} has unknown filter ${filter}`);
      }
      unfiltered[target + x] = (value + predicted) & 0xff;
    }
  }

  const pixels = new Uint8Array(width * height * 4);
  for (let index = 0; index < width * height; index++) {
    const from = index * channels;
    const to = index * 4;
    const first = unfiltered[from] ?? 0;
    if (channels === 1 || channels === 2) {
      pixels[to] = first;
      pixels[to + 1] = first;
      pixels[to + 2] = first;
      pixels[to + 3] = channels === 2 ? (unfiltered[from + 1] ?? 255) : 255;
    } else {
      pixels[to] = first;
      pixels[to + 1] = unfiltered[from + 1] ?? 0;
      pixels[to + 2] = unfiltered[from + 2] ?? 0;
      pixels[to + 3] = channels === 4 ? (unfiltered[from + 3] ?? 255) : 255;
    }
  }
  return { width, height, pixels };
}

export interface ImageDifference {
  sameSize: boolean;
  /** Pixels where any channel differs by more than the tolerance (0 when sizes differ: compare `sameSize` first). */
  differingPixels: number;
  /** differingPixels / pixel count. */
  ratio: number;
}

/**
 * Counts pixels that differ by more than `channelTolerance` (0-255) in any channel. Antialiasing noise moves
 * edge pixels by a few levels; a moved box or a changed word changes whole runs of pixels far beyond it.
 */
export function compareImages(
  actual: RgbaImage,
  expected: RgbaImage,
  channelTolerance = 24,
): ImageDifference {
  if (actual.width !== expected.width || actual.height !== expected.height) {
    return { sameSize: false, differingPixels: 0, ratio: 1 };
  }
  let differing = 0;
  for (let index = 0; index < actual.pixels.length; index += 4) {
    for (let channel = 0; channel < 4; channel++) {
      if (
        Math.abs((actual.pixels[index + channel] ?? 0) - (expected.pixels[index + channel] ?? 0)) >
        channelTolerance
      ) {
        differing += 1;
        break;
      }
    }
  }
  return { sameSize: true, differingPixels: differing, ratio: differing / (actual.width * actual.height) };
}
