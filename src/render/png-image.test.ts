import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { compareImages, decodePng, type RgbaImage } from "./png-image.ts";

/** CRC-32 as PNG chunks need it (the decoder does not check it, but a valid file keeps the test honest). */
function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(body.length, 0);
  header.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, "latin1"), body])));
  return Buffer.concat([header, body, crc]);
}

/** Encodes RGB pixels with the given filter on every row, applying the filter forward as a PNG encoder does. */
function encodeRgb(width: number, height: number, pixels: number[], filter: number): Buffer {
  const channels = 3;
  const stride = width * channels;
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    rows.push(filter);
    for (let x = 0; x < stride; x++) {
      const value = pixels[y * stride + x] ?? 0;
      const left = x >= channels ? (pixels[y * stride + x - channels] ?? 0) : 0;
      const up = y > 0 ? (pixels[(y - 1) * stride + x] ?? 0) : 0;
      const upLeft = y > 0 && x >= channels ? (pixels[(y - 1) * stride + x - channels] ?? 0) : 0;
      const estimate = left + up - upLeft;
      const paeth =
        Math.abs(estimate - left) <= Math.abs(estimate - up) &&
        Math.abs(estimate - left) <= Math.abs(estimate - upLeft)
          ? left
          : Math.abs(estimate - up) <= Math.abs(estimate - upLeft)
            ? up
            : upLeft;
      const predicted = [0, left, up, (left + up) >> 1, paeth][filter] ?? 0;
      rows.push((value - predicted) & 0xff);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.from(rows))),
    chunk("IEND", new Uint8Array()),
  ]);
}

describe("decodePng", () => {
  const width = 5;
  const height = 4;
  const pixels = Array.from(
    { length: width * height * 3 },
    (_, index) => (index * 37 + (index % 7) * 11) & 0xff,
  );

  it.each([0, 1, 2, 3, 4])("decodes rows written with filter %i", (filter) => {
    const image = decodePng(encodeRgb(width, height, pixels, filter));
    expect(image.width).toBe(width);
    expect(image.height).toBe(height);
    for (let index = 0; index < width * height; index++) {
      expect([...image.pixels.subarray(index * 4, index * 4 + 4)]).toEqual([
        pixels[index * 3],
        pixels[index * 3 + 1],
        pixels[index * 3 + 2],
        255,
      ]);
    }
  });

  it("refuses a file that is not a PNG", () => {
    expect(() => decodePng(Buffer.from("GIF89a..."))).toThrow(/not a PNG/);
  });
});

describe("compareImages", () => {
  const image = (fill: number, width = 10, height = 10): RgbaImage => ({
    width,
    height,
    pixels: new Uint8Array(width * height * 4).fill(fill),
  });

  it("ignores differences within the channel tolerance", () => {
    expect(compareImages(image(100), image(110), 24)).toEqual({
      sameSize: true,
      differingPixels: 0,
      ratio: 0,
    });
  });

  it("counts pixels beyond the tolerance", () => {
    const changed = image(100);
    changed.pixels.fill(250, 0, 4 * 5);
    expect(compareImages(changed, image(100))).toEqual({ sameSize: true, differingPixels: 5, ratio: 0.05 });
  });

  it("reports a size change as a full difference", () => {
    expect(compareImages(image(0, 10, 10), image(0, 10, 11)).sameSize).toBe(false);
  });
});
