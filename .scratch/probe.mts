import sharp from 'sharp';
import { writeFileSync, readFileSync } from 'node:fs';
const w = 64, h = 48;
const px = Buffer.alloc(w*h*3); for (let i=0;i<px.length;i++) px[i]=(i*37)%256;
const jpg = await sharp(px,{raw:{width:w,height:h,channels:3}}).jpeg().toBuffer();
const png = await sharp(px,{raw:{width:w,height:h,channels:3}}).png().toBuffer();
const webp = await sharp(px,{raw:{width:w,height:h,channels:3}}).webp().toBuffer();
const cases: Record<string, Buffer> = {
  jpgTrunc: jpg.subarray(0, Math.floor(jpg.length/2)),
  pngTrunc: png.subarray(0, Math.floor(png.length/2)),
  webpTrunc: webp.subarray(0, Math.floor(webp.length/2)),
  garbage: Buffer.from('hello world this is not an image'),
  empty: Buffer.alloc(0),
  jpgHeaderOnly: jpg.subarray(0, 200),
};
for (const [k, b] of Object.entries(cases)) {
  let meta: any; try { meta = await sharp(b).metadata(); } catch (e:any) { meta = 'ERR '+e.message; }
  let dec: any; try { const r = await sharp(b,{failOn:'error'}).raw().toBuffer({resolveWithObject:true}); dec = r.info; } catch (e:any) { dec = 'ERR '+e.message; }
  let decT: any; try { const r = await sharp(b,{failOn:'truncated'}).raw().toBuffer({resolveWithObject:true}); decT = r.info; } catch (e:any) { decT = 'ERR '+e.message; }
  console.log(k, typeof meta==='string'?meta:{f:meta.format,w:meta.width,h:meta.height}, '|', dec, '|', decT);
}
// grey16 png
const g16 = await sharp(Buffer.alloc(w*h*2, 200),{raw:{width:w,height:h,channels:1}}).png().toBuffer();
const g = await sharp(Buffer.alloc(w*h*2, 0x80),{raw:{width:w,height:h,channels:2}}).png().toBuffer(); // grey+alpha
for (const b of [g16, g]) {
  const r = await sharp(b).flatten({background:'#ffffff'}).toColourspace('srgb').raw().toBuffer({resolveWithObject:true});
  console.log(r.info, r.data.subarray(0,6));
}
// rgba
const rgba = Buffer.alloc(w*h*4); for (let i=0;i<w*h;i++){rgba[i*4]=255;rgba[i*4+3]=i%2?0:255;}
const rp = await sharp(rgba,{raw:{width:w,height:h,channels:4}}).png().toBuffer();
const r2 = await sharp(rp).flatten({background:'#ffffff'}).toColourspace('srgb').raw().toBuffer({resolveWithObject:true});
console.log(r2.info, r2.data.subarray(0,6));
// EXIF orientation 6
const o6 = await sharp(px,{raw:{width:w,height:h,channels:3}}).jpeg().withMetadata({orientation:6}).toBuffer();
const m6 = await sharp(o6).metadata(); console.log('o6', m6.width, m6.height, m6.orientation, m6.autoOrient);
const d6 = await sharp(o6,{autoOrient:true}).raw().toBuffer({resolveWithObject:true}); console.log(d6.info);
// 16 bit rgb png
const p16 = await sharp(px,{raw:{width:w,height:h,channels:3}}).toColourspace('rgb16').png().toBuffer();
const m16 = await sharp(p16).metadata(); console.log('p16', m16.depth, m16.bitsPerSample);
const d16 = await sharp(p16).flatten({background:'#ffffff'}).toColourspace('srgb').raw().toBuffer({resolveWithObject:true}); console.log(d16.info);
