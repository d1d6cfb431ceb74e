/*
 * jsimd_wasm.c: libjpeg-turbo's SIMD dispatch (jsimd.h) for our WASM build
 * (wasm/build-jpeg.sh), in place of the library's jsimd_none.c, from which
 * this file was copied (its copyright notice follows). Every routine still
 * answers "no SIMD" except these, which use WASM SIMD (wasm_simd128.h) and
 * give exactly the C routines' output:
 *  - jsimd_ycc_rgb_convert: jdcolext.c's ycc_rgb_convert (YCbCr -> RGB[A]),
 *    the same fixed-point formulas as its tables, 16 pixels at a time;
 *  - jsimd_idct_islow: jidctint.c's jpeg_idct_islow (the 8x8 inverse DCT),
 *    the same 32-bit arithmetic 4 columns/rows at a time, and the same range
 *    limiting (including its wrap-around of wild values from corrupt data);
 *  - jsimd_h2v2_fancy_upsample: jdsample.c's h2v2_fancy_upsample (4:2:0
 *    chroma at full-scale decodes), the same sums, 8 columns at a time;
 *  - jsimd_rgb_ycc_convert: jccolext.c's rgb_ycc_convert (RGB[A] -> YCbCr
 *    for the encoder), the same fixed-point formulas as its table;
 *  - jsimd_h2v2_downsample: jcsample.c's h2v2_downsample (4:2:0 chroma for
 *    the encoder), the same 2x2 sums and alternating bias;
 *  - jsimd_idct_6x6 / jsimd_idct_12x12: jidctint.c's scaled IDCTs for
 *    6/8-scale decodes, likewise.
 * None changes a pixel: when written, decodes of six fixtures at four
 * scales and encoder output were compared byte for byte with the plain C
 * build; the committed tests (src/image/jpeg.test.ts) compare decodes with
 * mozjpeg's decoder and the golden tests the rendered sizes' PSNR.
 */
/*
 * jsimd_none.c
 *
 * Copyright 2009 Pierre Ossman <ossman@cendio.se> for Cendio AB
 * Copyright (C) 2009-2011, 2014, 2022, D. R. Commander.
 * Copyright (C) 2015-2016, 2018, 2022, Matthieu Darbois.
 * Copyright (C) 2020, Arm Limited.
 *
 * Based on the x86 SIMD extension for IJG JPEG library,
 * Copyright (C) 1999-2006, MIYASAKA Masaru.
 * For conditions of distribution and use, see copyright notice in jsimdext.inc
 *
 * This file contains stubs for when there is no SIMD support available.
 */

#define JPEG_INTERNALS
#include "jinclude.h"
#include "jpeglib.h"
#include "jsimd.h"
#include "jdct.h"
#include "jsimddct.h"

GLOBAL(int)
jsimd_can_rgb_gray(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_ycc_rgb565(void)
{
  return 0;
}

GLOBAL(int)
jsimd_c_can_null_convert(void)
{
  return 0;
}

GLOBAL(void)
jsimd_rgb_gray_convert(j_compress_ptr cinfo, JSAMPARRAY input_buf,
                       JSAMPIMAGE output_buf, JDIMENSION output_row,
                       int num_rows)
{
}

GLOBAL(void)
jsimd_ycc_rgb565_convert(j_decompress_ptr cinfo, JSAMPIMAGE input_buf,
                         JDIMENSION input_row, JSAMPARRAY output_buf,
                         int num_rows)
{
}

GLOBAL(void)
jsimd_c_null_convert(j_compress_ptr cinfo, JSAMPARRAY input_buf,
                     JSAMPIMAGE output_buf, JDIMENSION output_row,
                     int num_rows)
{
}

GLOBAL(int)
jsimd_can_h2v1_downsample(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_h2v2_smooth_downsample(void)
{
  return 0;
}

GLOBAL(void)
jsimd_h2v2_smooth_downsample(j_compress_ptr cinfo,
                             jpeg_component_info *compptr,
                             JSAMPARRAY input_data, JSAMPARRAY output_data)
{
}

GLOBAL(void)
jsimd_h2v1_downsample(j_compress_ptr cinfo, jpeg_component_info *compptr,
                      JSAMPARRAY input_data, JSAMPARRAY output_data)
{
}

GLOBAL(int)
jsimd_can_h2v2_upsample(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_h2v1_upsample(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_int_upsample(void)
{
  return 0;
}

GLOBAL(void)
jsimd_int_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                   JSAMPARRAY input_data, JSAMPARRAY *output_data_ptr)
{
}

GLOBAL(void)
jsimd_h2v2_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                    JSAMPARRAY input_data, JSAMPARRAY *output_data_ptr)
{
}

GLOBAL(void)
jsimd_h2v1_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                    JSAMPARRAY input_data, JSAMPARRAY *output_data_ptr)
{
}

GLOBAL(int)
jsimd_can_h2v1_fancy_upsample(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_h1v2_fancy_upsample(void)
{
  return 0;
}

GLOBAL(void)
jsimd_h2v1_fancy_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                          JSAMPARRAY input_data, JSAMPARRAY *output_data_ptr)
{
}

GLOBAL(void)
jsimd_h1v2_fancy_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                          JSAMPARRAY input_data, JSAMPARRAY *output_data_ptr)
{
}

GLOBAL(int)
jsimd_can_h2v2_merged_upsample(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_h2v1_merged_upsample(void)
{
  return 0;
}

GLOBAL(void)
jsimd_h2v2_merged_upsample(j_decompress_ptr cinfo, JSAMPIMAGE input_buf,
                           JDIMENSION in_row_group_ctr, JSAMPARRAY output_buf)
{
}

GLOBAL(void)
jsimd_h2v1_merged_upsample(j_decompress_ptr cinfo, JSAMPIMAGE input_buf,
                           JDIMENSION in_row_group_ctr, JSAMPARRAY output_buf)
{
}

GLOBAL(int)
jsimd_can_convsamp(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_convsamp_float(void)
{
  return 0;
}

GLOBAL(void)
jsimd_convsamp(JSAMPARRAY sample_data, JDIMENSION start_col,
               DCTELEM *workspace)
{
}

GLOBAL(void)
jsimd_convsamp_float(JSAMPARRAY sample_data, JDIMENSION start_col,
                     FAST_FLOAT *workspace)
{
}

GLOBAL(int)
jsimd_can_fdct_islow(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_fdct_ifast(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_fdct_float(void)
{
  return 0;
}

GLOBAL(void)
jsimd_fdct_islow(DCTELEM *data)
{
}

GLOBAL(void)
jsimd_fdct_ifast(DCTELEM *data)
{
}

GLOBAL(void)
jsimd_fdct_float(FAST_FLOAT *data)
{
}

GLOBAL(int)
jsimd_can_quantize(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_quantize_float(void)
{
  return 0;
}

GLOBAL(void)
jsimd_quantize(JCOEFPTR coef_block, DCTELEM *divisors, DCTELEM *workspace)
{
}

GLOBAL(void)
jsimd_quantize_float(JCOEFPTR coef_block, FAST_FLOAT *divisors,
                     FAST_FLOAT *workspace)
{
}

GLOBAL(int)
jsimd_can_idct_2x2(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_idct_4x4(void)
{
  return 0;
}

GLOBAL(void)
jsimd_idct_2x2(j_decompress_ptr cinfo, jpeg_component_info *compptr,
               JCOEFPTR coef_block, JSAMPARRAY output_buf,
               JDIMENSION output_col)
{
}

GLOBAL(void)
jsimd_idct_4x4(j_decompress_ptr cinfo, jpeg_component_info *compptr,
               JCOEFPTR coef_block, JSAMPARRAY output_buf,
               JDIMENSION output_col)
{
}

GLOBAL(int)
jsimd_can_idct_ifast(void)
{
  return 0;
}

GLOBAL(int)
jsimd_can_idct_float(void)
{
  return 0;
}

GLOBAL(void)
jsimd_idct_ifast(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                 JCOEFPTR coef_block, JSAMPARRAY output_buf,
                 JDIMENSION output_col)
{
}

GLOBAL(void)
jsimd_idct_float(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                 JCOEFPTR coef_block, JSAMPARRAY output_buf,
                 JDIMENSION output_col)
{
}

GLOBAL(int)
jsimd_can_huff_encode_one_block(void)
{
  return 0;
}

GLOBAL(JOCTET *)
jsimd_huff_encode_one_block(void *state, JOCTET *buffer, JCOEFPTR block,
                            int last_dc_val, c_derived_tbl *dctbl,
                            c_derived_tbl *actbl)
{
  return NULL;
}

GLOBAL(int)
jsimd_can_encode_mcu_AC_first_prepare(void)
{
  return 0;
}

GLOBAL(void)
jsimd_encode_mcu_AC_first_prepare(const JCOEF *block,
                                  const int *jpeg_natural_order_start, int Sl,
                                  int Al, UJCOEF *values, size_t *zerobits)
{
}

GLOBAL(int)
jsimd_can_encode_mcu_AC_refine_prepare(void)
{
  return 0;
}

GLOBAL(int)
jsimd_encode_mcu_AC_refine_prepare(const JCOEF *block,
                                   const int *jpeg_natural_order_start, int Sl,
                                   int Al, UJCOEF *absvalues, size_t *bits)
{
  return 0;
}


/* ---- WASM SIMD routines (ours) ---- */

#include <wasm_simd128.h>

/* YCbCr -> RGB, as jdcolor.c's build_ycc_rgb_table and ycc_rgb_convert:
 * R = Y + ((FIX(1.402) Cr' + ONE_HALF) >> 16), B = Y + ((FIX(1.772) Cb' +
 * ONE_HALF) >> 16), G = Y + ((-FIX(0.34414) Cb' + ONE_HALF - FIX(0.71414)
 * Cr') >> 16), with Cb' = Cb - 128, each clamped to 0..255. */
#define YCC_R_CR  91881   /* FIX(1.40200) */
#define YCC_B_CB  116130  /* FIX(1.77200) */
#define YCC_G_CB  -22554  /* -FIX(0.34414) */
#define YCC_G_CR  -46802  /* -FIX(0.71414) */
#define YCC_HALF  32768   /* ONE_HALF */

GLOBAL(int)
jsimd_can_ycc_rgb(void)
{
  return 1;
}

/* Four lanes of one channel: y + (acc >> 16), as i32. */
static inline v128_t ycc_channel(v128_t y, v128_t acc)
{
  return wasm_i32x4_add(y, wasm_i32x4_shr(acc, 16));
}

/* 16 i32 lanes (a..d) -> 16 bytes, clamped to 0..255. */
static inline v128_t clamp_u8(v128_t a, v128_t b, v128_t c, v128_t d)
{
  return wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(a, b),
                                 wasm_i16x8_narrow_i32x4(c, d));
}

static inline int clamp_int(int v)
{
  return v < 0 ? 0 : v > MAXJSAMPLE ? MAXJSAMPLE : v;
}

GLOBAL(void)
jsimd_ycc_rgb_convert(j_decompress_ptr cinfo, JSAMPIMAGE input_buf,
                      JDIMENSION input_row, JSAMPARRAY output_buf,
                      int num_rows)
{
  const JDIMENSION num_cols = cinfo->output_width;
  const int cs = cinfo->out_color_space;
  const int r_off = rgb_red[cs], g_off = rgb_green[cs], b_off = rgb_blue[cs];
  const int size = rgb_pixelsize[cs];
  /* The vector path writes R, G, B, A=255 in that order (RGBA and RGBX). */
  const int rgba = size == 4 && r_off == 0 && g_off == 1 && b_off == 2;
  const v128_t k128 = wasm_i32x4_splat(CENTERJSAMPLE);
  const v128_t kr = wasm_i32x4_splat(YCC_R_CR), kb = wasm_i32x4_splat(YCC_B_CB);
  const v128_t kgb = wasm_i32x4_splat(YCC_G_CB), kgr = wasm_i32x4_splat(YCC_G_CR);
  const v128_t half = wasm_i32x4_splat(YCC_HALF);
  const v128_t alpha = wasm_i8x16_splat((char)0xFF);

  while (--num_rows >= 0) {
    const JSAMPLE *inptr0 = input_buf[0][input_row];
    const JSAMPLE *inptr1 = input_buf[1][input_row];
    const JSAMPLE *inptr2 = input_buf[2][input_row];
    JSAMPLE *outptr = *output_buf++;
    JDIMENSION col = 0;
    input_row++;
    if (rgba) {
      for (; col + 16 <= num_cols; col += 16) {
        const v128_t y8 = wasm_v128_load(inptr0 + col);
        const v128_t cb8 = wasm_v128_load(inptr1 + col);
        const v128_t cr8 = wasm_v128_load(inptr2 + col);
        const v128_t y16[2] = { wasm_u16x8_extend_low_u8x16(y8), wasm_u16x8_extend_high_u8x16(y8) };
        const v128_t cb16[2] = { wasm_u16x8_extend_low_u8x16(cb8), wasm_u16x8_extend_high_u8x16(cb8) };
        const v128_t cr16[2] = { wasm_u16x8_extend_low_u8x16(cr8), wasm_u16x8_extend_high_u8x16(cr8) };
        v128_t r[4], g[4], b[4];
        for (int q = 0; q < 4; q++) {
          const v128_t y = q & 1 ? wasm_u32x4_extend_high_u16x8(y16[q >> 1]) : wasm_u32x4_extend_low_u16x8(y16[q >> 1]);
          const v128_t cb = wasm_i32x4_sub(q & 1 ? wasm_u32x4_extend_high_u16x8(cb16[q >> 1]) : wasm_u32x4_extend_low_u16x8(cb16[q >> 1]), k128);
          const v128_t cr = wasm_i32x4_sub(q & 1 ? wasm_u32x4_extend_high_u16x8(cr16[q >> 1]) : wasm_u32x4_extend_low_u16x8(cr16[q >> 1]), k128);
          r[q] = ycc_channel(y, wasm_i32x4_add(wasm_i32x4_mul(cr, kr), half));
          b[q] = ycc_channel(y, wasm_i32x4_add(wasm_i32x4_mul(cb, kb), half));
          g[q] = ycc_channel(y, wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_mul(cb, kgb), half),
                                               wasm_i32x4_mul(cr, kgr)));
        }
        const v128_t R = clamp_u8(r[0], r[1], r[2], r[3]);
        const v128_t G = clamp_u8(g[0], g[1], g[2], g[3]);
        const v128_t B = clamp_u8(b[0], b[1], b[2], b[3]);
        const v128_t rg_lo = wasm_i8x16_shuffle(R, G, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const v128_t rg_hi = wasm_i8x16_shuffle(R, G, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        const v128_t ba_lo = wasm_i8x16_shuffle(B, alpha, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const v128_t ba_hi = wasm_i8x16_shuffle(B, alpha, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        JSAMPLE *o = outptr + col * 4;
        wasm_v128_store(o, wasm_i16x8_shuffle(rg_lo, ba_lo, 0, 8, 1, 9, 2, 10, 3, 11));
        wasm_v128_store(o + 16, wasm_i16x8_shuffle(rg_lo, ba_lo, 4, 12, 5, 13, 6, 14, 7, 15));
        wasm_v128_store(o + 32, wasm_i16x8_shuffle(rg_hi, ba_hi, 0, 8, 1, 9, 2, 10, 3, 11));
        wasm_v128_store(o + 48, wasm_i16x8_shuffle(rg_hi, ba_hi, 4, 12, 5, 13, 6, 14, 7, 15));
      }
    }
    for (; col < num_cols; col++) {
      const int y = inptr0[col], cb = inptr1[col] - CENTERJSAMPLE, cr = inptr2[col] - CENTERJSAMPLE;
      JSAMPLE *o = outptr + col * size;
      o[r_off] = (JSAMPLE)clamp_int(y + ((YCC_R_CR * cr + YCC_HALF) >> 16));
      o[g_off] = (JSAMPLE)clamp_int(y + ((YCC_G_CB * cb + YCC_HALF + YCC_G_CR * cr) >> 16));
      o[b_off] = (JSAMPLE)clamp_int(y + ((YCC_B_CB * cb + YCC_HALF) >> 16));
      /* The fourth byte of RGBX/XRGB/... is opaque alpha, as in jdcolext.c. */
      if (size == 4) o[6 - r_off - g_off - b_off] = MAXJSAMPLE;
    }
  }
}


/* The 8x8 inverse DCT of jidctint.c (jpeg_idct_islow), 8-bit samples. */
#define IS_CONST_BITS  13
#define IS_PASS1_BITS  2
#define FIX_0_298631336  2446
#define FIX_0_390180644  3196
#define FIX_0_541196100  4433
#define FIX_0_765366865  6270
#define FIX_0_899976223  7373
#define FIX_1_175875602  9633
#define FIX_1_501321110  12299
#define FIX_1_847759065  15137
#define FIX_1_961570560  16069
#define FIX_2_053119869  16819
#define FIX_2_562915447  20995
#define FIX_3_072711026  25172

GLOBAL(int)
jsimd_can_idct_islow(void)
{
  /* The vector code reads the coefficients as 16-bit and the multipliers as
   * int (jmorecfg.h's MULTIPLIER without WITH_SIMD). */
  return sizeof(JCOEF) == 2 && sizeof(ISLOW_MULT_TYPE) == 4 && DCTSIZE == 8 &&
         BITS_IN_JSAMPLE == 8;
}

#define MUL(v, k)  wasm_i32x4_mul(v, wasm_i32x4_splat(k))

/* One 1-D pass of jpeg_idct_islow over four lanes: in[0..7] are the eight
 * inputs (already dequantised), out[0..7] get tmp10 + tmp3 etc. before the
 * final descale, in the C code's order (0, 7, 1, 6, 2, 5, 3, 4). */
static inline void idct_1d(const v128_t in[8], v128_t out[8])
{
  v128_t z1 = MUL(wasm_i32x4_add(in[2], in[6]), FIX_0_541196100);
  v128_t tmp2 = wasm_i32x4_add(z1, MUL(in[6], -FIX_1_847759065));
  v128_t tmp3 = wasm_i32x4_add(z1, MUL(in[2], FIX_0_765366865));
  v128_t tmp0 = wasm_i32x4_shl(wasm_i32x4_add(in[0], in[4]), IS_CONST_BITS);
  v128_t tmp1 = wasm_i32x4_shl(wasm_i32x4_sub(in[0], in[4]), IS_CONST_BITS);
  const v128_t tmp10 = wasm_i32x4_add(tmp0, tmp3);
  const v128_t tmp13 = wasm_i32x4_sub(tmp0, tmp3);
  const v128_t tmp11 = wasm_i32x4_add(tmp1, tmp2);
  const v128_t tmp12 = wasm_i32x4_sub(tmp1, tmp2);

  tmp0 = in[7];
  tmp1 = in[5];
  tmp2 = in[3];
  tmp3 = in[1];
  z1 = wasm_i32x4_add(tmp0, tmp3);
  v128_t z2 = wasm_i32x4_add(tmp1, tmp2);
  v128_t z3 = wasm_i32x4_add(tmp0, tmp2);
  v128_t z4 = wasm_i32x4_add(tmp1, tmp3);
  const v128_t z5 = MUL(wasm_i32x4_add(z3, z4), FIX_1_175875602);
  tmp0 = MUL(tmp0, FIX_0_298631336);
  tmp1 = MUL(tmp1, FIX_2_053119869);
  tmp2 = MUL(tmp2, FIX_3_072711026);
  tmp3 = MUL(tmp3, FIX_1_501321110);
  z1 = MUL(z1, -FIX_0_899976223);
  z2 = MUL(z2, -FIX_2_562915447);
  z3 = wasm_i32x4_add(MUL(z3, -FIX_1_961570560), z5);
  z4 = wasm_i32x4_add(MUL(z4, -FIX_0_390180644), z5);
  tmp0 = wasm_i32x4_add(tmp0, wasm_i32x4_add(z1, z3));
  tmp1 = wasm_i32x4_add(tmp1, wasm_i32x4_add(z2, z4));
  tmp2 = wasm_i32x4_add(tmp2, wasm_i32x4_add(z2, z3));
  tmp3 = wasm_i32x4_add(tmp3, wasm_i32x4_add(z1, z4));

  out[0] = wasm_i32x4_add(tmp10, tmp3);
  out[7] = wasm_i32x4_sub(tmp10, tmp3);
  out[1] = wasm_i32x4_add(tmp11, tmp2);
  out[6] = wasm_i32x4_sub(tmp11, tmp2);
  out[2] = wasm_i32x4_add(tmp12, tmp1);
  out[5] = wasm_i32x4_sub(tmp12, tmp1);
  out[3] = wasm_i32x4_add(tmp13, tmp0);
  out[4] = wasm_i32x4_sub(tmp13, tmp0);
}

/* DESCALE(x, n): x + 2^(n-1), arithmetic shift right by n. */
static inline v128_t descale(v128_t x, int n)
{
  return wasm_i32x4_shr(wasm_i32x4_add(x, wasm_i32x4_splat(1 << (n - 1))), n);
}

/* Transpose the 4x4 i32 block a[0..3] in place. */
static inline void transpose4(v128_t *a, v128_t *b, v128_t *c, v128_t *d)
{
  const v128_t t0 = wasm_i32x4_shuffle(*a, *b, 0, 4, 1, 5);
  const v128_t t1 = wasm_i32x4_shuffle(*a, *b, 2, 6, 3, 7);
  const v128_t t2 = wasm_i32x4_shuffle(*c, *d, 0, 4, 1, 5);
  const v128_t t3 = wasm_i32x4_shuffle(*c, *d, 2, 6, 3, 7);
  *a = wasm_i64x2_shuffle(t0, t2, 0, 2);
  *b = wasm_i64x2_shuffle(t0, t2, 1, 3);
  *c = wasm_i64x2_shuffle(t1, t3, 0, 2);
  *d = wasm_i64x2_shuffle(t1, t3, 1, 3);
}

GLOBAL(void)
jsimd_idct_islow(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                 JCOEFPTR coef_block, JSAMPARRAY output_buf,
                 JDIMENSION output_col)
{
  const ISLOW_MULT_TYPE *quant = (const ISLOW_MULT_TYPE *)compptr->dct_table;
  /* ws[h][k]: after pass 1, row k (0..7) of columns 4h..4h+3. */
  v128_t ws[2][8];
  (void)cinfo;

  /* Pass 1: columns, four at a time (lane = column). The C code's shortcut
   * for all-zero AC terms gives the same numbers as the full sum. */
  for (int h = 0; h < 2; h++) {
    v128_t in[8], out[8];
    for (int k = 0; k < 8; k++)
      in[k] = wasm_i32x4_mul(wasm_i32x4_load16x4(coef_block + k * 8 + h * 4),
                             wasm_v128_load(quant + k * 8 + h * 4));
    idct_1d(in, out);
    for (int k = 0; k < 8; k++)
      ws[h][k] = descale(out[k], IS_CONST_BITS - IS_PASS1_BITS);
  }

  /* Transpose: t[v][k] = element k of rows 4v..4v+3 (lane = row). */
  v128_t t[2][8];
  for (int v = 0; v < 2; v++)
    for (int h = 0; h < 2; h++) {
      v128_t a = ws[h][4 * v], b = ws[h][4 * v + 1], c = ws[h][4 * v + 2], d = ws[h][4 * v + 3];
      transpose4(&a, &b, &c, &d);
      t[v][4 * h] = a;
      t[v][4 * h + 1] = b;
      t[v][4 * h + 2] = c;
      t[v][4 * h + 3] = d;
    }

  /* Pass 2: rows, four at a time; then range-limit as
   * range_limit[x & RANGE_MASK]: wrap x into -512..511, add 128, clamp. */
  const v128_t wrap_add = wasm_i32x4_splat(512), wrap_mask = wasm_i32x4_splat(RANGE_MASK);
  const v128_t wrap_sub = wasm_i32x4_splat(512 - CENTERJSAMPLE);
  v128_t cols[8]; /* cols[k]: output column k of rows 0..7, as i16 */
  v128_t res[2][8];
  for (int v = 0; v < 2; v++) {
    v128_t out[8];
    idct_1d(t[v], out);
    for (int k = 0; k < 8; k++) {
      v128_t x = descale(out[k], IS_CONST_BITS + IS_PASS1_BITS + 3);
      x = wasm_i32x4_sub(wasm_v128_and(wasm_i32x4_add(x, wrap_add), wrap_mask), wrap_sub);
      res[v][k] = x;
    }
  }
  for (int k = 0; k < 8; k++)
    cols[k] = wasm_i16x8_narrow_i32x4(res[0][k], res[1][k]);
  /* 8x8 i16 transpose: cols[k] lane r -> rows[r] lane k. */
  v128_t a[8], b[8];
  for (int i = 0; i < 4; i++) {
    a[2 * i] = wasm_i16x8_shuffle(cols[2 * i], cols[2 * i + 1], 0, 8, 1, 9, 2, 10, 3, 11);
    a[2 * i + 1] = wasm_i16x8_shuffle(cols[2 * i], cols[2 * i + 1], 4, 12, 5, 13, 6, 14, 7, 15);
  }
  /* a[2i] holds (col 2i, col 2i+1) pairs for rows 0..3, a[2i+1] rows 4..7. */
  for (int i = 0; i < 2; i++)
    for (int hv = 0; hv < 2; hv++) {
      b[4 * i + 2 * hv] = wasm_i32x4_shuffle(a[4 * i + hv], a[4 * i + 2 + hv], 0, 4, 1, 5);
      b[4 * i + 2 * hv + 1] = wasm_i32x4_shuffle(a[4 * i + hv], a[4 * i + 2 + hv], 2, 6, 3, 7);
    }
  /* b[4i + 2hv + j] holds cols 4i..4i+3 for rows 4hv+2j, 4hv+2j+1. */
  for (int r2 = 0; r2 < 4; r2++) {
    const v128_t lo = b[r2], hi = b[4 + r2];
    const v128_t row0 = wasm_i64x2_shuffle(lo, hi, 0, 2);
    const v128_t row1 = wasm_i64x2_shuffle(lo, hi, 1, 3);
    const v128_t bytes = wasm_u8x16_narrow_i16x8(row0, row1);
    const int r = (r2 >> 1) * 4 + (r2 & 1) * 2;
    wasm_v128_store64_lane(output_buf[r] + output_col, bytes, 0);
    wasm_v128_store64_lane(output_buf[r + 1] + output_col, bytes, 1);
  }
}


/* ---- Scaled inverse DCTs (jidctint.c's jpeg_idct_6x6 and _12x12), used by
 * 6/8-scale decodes (luma 6x6; 4:2:0 chroma 12x12, which spares the
 * upsampling). jddctmgr.c picks them through its MIPS hooks (edited to
 * take them on WASM too). Written with
 * clang's vector operators on v128_t (4 x int32): the C code's statements
 * verbatim, each lane one column (pass 1) or one row (pass 2). */

GLOBAL(int)
jsimd_can_idct_6x6(void)
{
  return jsimd_can_idct_islow();
}

GLOBAL(int)
jsimd_can_idct_12x12(void)
{
  return jsimd_can_idct_islow();
}

#define VFIX(x)  ((int)((x) * (1 << IS_CONST_BITS) + 0.5))

/* Pass-1 inputs: dequantised coefficient row k of columns 4h..4h+3. */
static inline v128_t dequant(JCOEFPTR coef, const ISLOW_MULT_TYPE *quant, int k, int h)
{
  return wasm_i32x4_load16x4(coef + k * 8 + h * 4) * wasm_v128_load(quant + k * 8 + h * 4);
}

/* Range limit as range_limit[x & RANGE_MASK] (see jsimd_idct_islow); the
 * final clamp to 0..255 happens when narrowing to bytes. */
static inline v128_t wrap_sample(v128_t x)
{
  return ((x + 512) & RANGE_MASK) - (512 - CENTERJSAMPLE);
}

/* ws[h][k] (lanes = columns 4h..4h+3, row k) -> t[v][c] (lanes = rows
 * 4v..4v+3, column c); rows >= nrows are zero. */
static inline void to_rows(v128_t ws[2][12], int nrows, v128_t t[3][8])
{
  for (int v = 0; v * 4 < nrows; v++)
    for (int h = 0; h < 2; h++) {
      v128_t a = ws[h][4 * v], b = ws[h][4 * v + 1], c = ws[h][4 * v + 2], d = ws[h][4 * v + 3];
      if (4 * v + 2 >= nrows) c = d = wasm_i32x4_splat(0);
      transpose4(&a, &b, &c, &d);
      t[v][4 * h] = a;
      t[v][4 * h + 1] = b;
      t[v][4 * h + 2] = c;
      t[v][4 * h + 3] = d;
    }
}

/* res[v][k] (lanes = rows 4v..4v+3, output column k < n, n = 6 or 12, zero
 * padded to a multiple of 4) -> n bytes in each of the n output rows. */
static inline void store_rows(v128_t res[3][12], int n, JSAMPARRAY output_buf,
                              JDIMENSION output_col)
{
  for (int v = 0; v * 4 < n; v++) {
    v128_t rows[3][4];
    for (int kb = 0; kb * 4 < n; kb++) {
      v128_t a = res[v][4 * kb], b = res[v][4 * kb + 1], c = res[v][4 * kb + 2], d = res[v][4 * kb + 3];
      transpose4(&a, &b, &c, &d);
      rows[kb][0] = a;
      rows[kb][1] = b;
      rows[kb][2] = c;
      rows[kb][3] = d;
    }
    for (int j = 0; j < 4 && 4 * v + j < n; j++) {
      JSAMPLE *out = output_buf[4 * v + j] + output_col;
      const v128_t lo = wasm_i16x8_narrow_i32x4(rows[0][j], rows[1][j]);
      if (n == 6) {
        const v128_t bytes = wasm_u8x16_narrow_i16x8(lo, lo);
        wasm_v128_store32_lane(out, bytes, 0);
        wasm_v128_store16_lane(out + 4, bytes, 2);
      } else {
        const v128_t bytes = wasm_u8x16_narrow_i16x8(lo, wasm_i16x8_narrow_i32x4(rows[2][j], rows[2][j]));
        wasm_v128_store64_lane(out, bytes, 0);
        wasm_v128_store32_lane(out + 8, bytes, 2);
      }
    }
  }
}

GLOBAL(void)
jsimd_idct_6x6(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                    JCOEFPTR coef_block, JSAMPARRAY output_buf,
                    JDIMENSION output_col)
{
  const ISLOW_MULT_TYPE *quant = (const ISLOW_MULT_TYPE *)compptr->dct_table;
  v128_t ws[2][12], t[3][8], res[3][12];
  v128_t tmp0, tmp1, tmp2, tmp10, tmp11, tmp12, z1, z2, z3;
  (void)cinfo;

  for (int h = 0; h < 2; h++) {
    tmp0 = dequant(coef_block, quant, 0, h);
    tmp0 = tmp0 << IS_CONST_BITS;
    tmp0 += 1 << (IS_CONST_BITS - IS_PASS1_BITS - 1);
    tmp2 = dequant(coef_block, quant, 4, h);
    tmp10 = tmp2 * VFIX(0.707106781);
    tmp1 = tmp0 + tmp10;
    tmp11 = (tmp0 - tmp10 - tmp10) >> (IS_CONST_BITS - IS_PASS1_BITS);
    tmp10 = dequant(coef_block, quant, 2, h);
    tmp0 = tmp10 * VFIX(1.224744871);
    tmp10 = tmp1 + tmp0;
    tmp12 = tmp1 - tmp0;
    z1 = dequant(coef_block, quant, 1, h);
    z2 = dequant(coef_block, quant, 3, h);
    z3 = dequant(coef_block, quant, 5, h);
    tmp1 = (z1 + z3) * VFIX(0.366025404);
    tmp0 = tmp1 + ((z1 + z2) << IS_CONST_BITS);
    tmp2 = tmp1 + ((z3 - z2) << IS_CONST_BITS);
    tmp1 = (z1 - z2 - z3) << IS_PASS1_BITS;
    ws[h][0] = (tmp10 + tmp0) >> (IS_CONST_BITS - IS_PASS1_BITS);
    ws[h][5] = (tmp10 - tmp0) >> (IS_CONST_BITS - IS_PASS1_BITS);
    ws[h][1] = tmp11 + tmp1;
    ws[h][4] = tmp11 - tmp1;
    ws[h][2] = (tmp12 + tmp2) >> (IS_CONST_BITS - IS_PASS1_BITS);
    ws[h][3] = (tmp12 - tmp2) >> (IS_CONST_BITS - IS_PASS1_BITS);
  }
  to_rows(ws, 6, t);

  for (int v = 0; v < 2; v++) {
    const v128_t *w = t[v];
    tmp0 = w[0] + (1 << (IS_PASS1_BITS + 2));
    tmp0 = tmp0 << IS_CONST_BITS;
    tmp2 = w[4];
    tmp10 = tmp2 * VFIX(0.707106781);
    tmp1 = tmp0 + tmp10;
    tmp11 = tmp0 - tmp10 - tmp10;
    tmp10 = w[2];
    tmp0 = tmp10 * VFIX(1.224744871);
    tmp10 = tmp1 + tmp0;
    tmp12 = tmp1 - tmp0;
    z1 = w[1];
    z2 = w[3];
    z3 = w[5];
    tmp1 = (z1 + z3) * VFIX(0.366025404);
    tmp0 = tmp1 + ((z1 + z2) << IS_CONST_BITS);
    tmp2 = tmp1 + ((z3 - z2) << IS_CONST_BITS);
    tmp1 = (z1 - z2 - z3) << IS_CONST_BITS;
#define OUT(x)  wrap_sample((x) >> (IS_CONST_BITS + IS_PASS1_BITS + 3))
    res[v][0] = OUT(tmp10 + tmp0);
    res[v][5] = OUT(tmp10 - tmp0);
    res[v][1] = OUT(tmp11 + tmp1);
    res[v][4] = OUT(tmp11 - tmp1);
    res[v][2] = OUT(tmp12 + tmp2);
    res[v][3] = OUT(tmp12 - tmp2);
    res[v][6] = res[v][7] = wasm_i32x4_splat(0);
  }
  store_rows(res, 6, output_buf, output_col);
}

GLOBAL(void)
jsimd_idct_12x12(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                      JCOEFPTR coef_block, JSAMPARRAY output_buf,
                      JDIMENSION output_col)
{
  const ISLOW_MULT_TYPE *quant = (const ISLOW_MULT_TYPE *)compptr->dct_table;
  v128_t ws[2][12], t[3][8], res[3][12];
  v128_t tmp10, tmp11, tmp12, tmp13, tmp14, tmp15;
  v128_t tmp20, tmp21, tmp22, tmp23, tmp24, tmp25, z1, z2, z3, z4;
  (void)cinfo;

  /* Both passes are the same 8-in, 12-out transform but for the inputs'
   * source, the pass-1 rounding term and the final shift/limit. */
#define IDCT12(IN, ROUND)                                                  \
    z3 = IN(0);                                                            \
    z3 = z3 << IS_CONST_BITS;                                              \
    z3 += ROUND;                                                           \
    z4 = IN(4);                                                            \
    z4 = z4 * VFIX(1.224744871);                                           \
    tmp10 = z3 + z4;                                                       \
    tmp11 = z3 - z4;                                                       \
    z1 = IN(2);                                                            \
    z4 = z1 * VFIX(1.366025404);                                           \
    z1 = z1 << IS_CONST_BITS;                                              \
    z2 = IN(6);                                                            \
    z2 = z2 << IS_CONST_BITS;                                              \
    tmp12 = z1 - z2;                                                       \
    tmp21 = z3 + tmp12;                                                    \
    tmp24 = z3 - tmp12;                                                    \
    tmp12 = z4 + z2;                                                       \
    tmp20 = tmp10 + tmp12;                                                 \
    tmp25 = tmp10 - tmp12;                                                 \
    tmp12 = z4 - z1 - z2;                                                  \
    tmp22 = tmp11 + tmp12;                                                 \
    tmp23 = tmp11 - tmp12;                                                 \
    z1 = IN(1);                                                            \
    z2 = IN(3);                                                            \
    z3 = IN(5);                                                            \
    z4 = IN(7);                                                            \
    tmp11 = z2 * VFIX(1.306562965);                                        \
    tmp14 = z2 * -FIX_0_541196100;                                         \
    tmp10 = z1 + z3;                                                       \
    tmp15 = (tmp10 + z4) * VFIX(0.860918669);                              \
    tmp12 = tmp15 + tmp10 * VFIX(0.261052384);                             \
    tmp10 = tmp12 + tmp11 + z1 * VFIX(0.280143716);                        \
    tmp13 = (z3 + z4) * -VFIX(1.045510580);                                \
    tmp12 += tmp13 + tmp14 - z3 * VFIX(1.478575242);                       \
    tmp13 += tmp15 - tmp11 + z4 * VFIX(1.586706681);                       \
    tmp15 += tmp14 - z1 * VFIX(0.676326758) - z4 * VFIX(1.982889723);      \
    z1 -= z4;                                                              \
    z2 -= z3;                                                              \
    z3 = (z1 + z2) * FIX_0_541196100;                                      \
    tmp11 = z3 + z1 * FIX_0_765366865;                                     \
    tmp14 = z3 - z2 * FIX_1_847759065;

  for (int h = 0; h < 2; h++) {
#define IN1(k)  dequant(coef_block, quant, k, h)
    IDCT12(IN1, 1 << (IS_CONST_BITS - IS_PASS1_BITS - 1))
#define WS(x)  ((x) >> (IS_CONST_BITS - IS_PASS1_BITS))
    ws[h][0] = WS(tmp20 + tmp10);
    ws[h][11] = WS(tmp20 - tmp10);
    ws[h][1] = WS(tmp21 + tmp11);
    ws[h][10] = WS(tmp21 - tmp11);
    ws[h][2] = WS(tmp22 + tmp12);
    ws[h][9] = WS(tmp22 - tmp12);
    ws[h][3] = WS(tmp23 + tmp13);
    ws[h][8] = WS(tmp23 - tmp13);
    ws[h][4] = WS(tmp24 + tmp14);
    ws[h][7] = WS(tmp24 - tmp14);
    ws[h][5] = WS(tmp25 + tmp15);
    ws[h][6] = WS(tmp25 - tmp15);
  }
  to_rows(ws, 12, t);

  for (int v = 0; v < 3; v++) {
#define IN2(k)  (k == 0 ? t[v][0] + (1 << (IS_PASS1_BITS + 2)) : t[v][k])
    IDCT12(IN2, 0)
    res[v][0] = OUT(tmp20 + tmp10);
    res[v][11] = OUT(tmp20 - tmp10);
    res[v][1] = OUT(tmp21 + tmp11);
    res[v][10] = OUT(tmp21 - tmp11);
    res[v][2] = OUT(tmp22 + tmp12);
    res[v][9] = OUT(tmp22 - tmp12);
    res[v][3] = OUT(tmp23 + tmp13);
    res[v][8] = OUT(tmp23 - tmp13);
    res[v][4] = OUT(tmp24 + tmp14);
    res[v][7] = OUT(tmp24 - tmp14);
    res[v][5] = OUT(tmp25 + tmp15);
    res[v][6] = OUT(tmp25 - tmp15);
  }
  store_rows(res, 12, output_buf, output_col);
}


/* RGB -> YCbCr, as jccolor.c's rgb_ycc_start table and rgb_ycc_convert:
 * Y = (FIX(0.299) R + FIX(0.587) G + FIX(0.114) B + ONE_HALF) >> 16,
 * Cb = (-FIX(0.16874) R - FIX(0.33126) G + FIX(0.5) B + CBCR_OFFSET +
 * ONE_HALF - 1) >> 16, Cr likewise with (0.5, -0.41869, -0.08131). */
#define CFIX(x)  ((int)((x) * 65536 + 0.5))
#define CC_HALF  (1 << 15)
#define CC_OFF   ((CENTERJSAMPLE << 16) + CC_HALF - 1)

GLOBAL(int)
jsimd_can_rgb_ycc(void)
{
  return 1;
}

static inline void rgb_ycc_lanes(v128_t r, v128_t g, v128_t b, v128_t *y, v128_t *cb, v128_t *cr)
{
  *y = (r * CFIX(0.29900) + g * CFIX(0.58700) + b * CFIX(0.11400) + CC_HALF) >> 16;
  *cb = (r * -CFIX(0.16874) + g * -CFIX(0.33126) + b * CFIX(0.50000) + CC_OFF) >> 16;
  *cr = (r * CFIX(0.50000) + g * -CFIX(0.41869) + b * -CFIX(0.08131) + CC_OFF) >> 16;
}

GLOBAL(void)
jsimd_rgb_ycc_convert(j_compress_ptr cinfo, JSAMPARRAY input_buf,
                      JSAMPIMAGE output_buf, JDIMENSION output_row,
                      int num_rows)
{
  const JDIMENSION num_cols = cinfo->image_width;
  const int cs = cinfo->in_color_space;
  const int r_off = rgb_red[cs], g_off = rgb_green[cs], b_off = rgb_blue[cs];
  const int size = rgb_pixelsize[cs];
  /* The vector path reads R, G, B, X (RGBA and RGBX). */
  const int rgba = size == 4 && r_off == 0 && g_off == 1 && b_off == 2;

  while (--num_rows >= 0) {
    const JSAMPLE *inptr = *input_buf++;
    JSAMPLE *out0 = output_buf[0][output_row];
    JSAMPLE *out1 = output_buf[1][output_row];
    JSAMPLE *out2 = output_buf[2][output_row];
    JDIMENSION col = 0;
    output_row++;
    if (rgba) {
      for (; col + 16 <= num_cols; col += 16) {
        const JSAMPLE *p = inptr + col * 4;
        const v128_t v0 = wasm_v128_load(p), v1 = wasm_v128_load(p + 16);
        const v128_t v2 = wasm_v128_load(p + 32), v3 = wasm_v128_load(p + 48);
        /* Low 8 bytes: channel c of pixels 0..7; high 8: channel c+1. */
        const v128_t rg01 = wasm_i8x16_shuffle(v0, v1, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
        const v128_t rg23 = wasm_i8x16_shuffle(v2, v3, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
        const v128_t bx01 = wasm_i8x16_shuffle(v0, v1, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
        const v128_t bx23 = wasm_i8x16_shuffle(v2, v3, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
        const v128_t R = wasm_i64x2_shuffle(rg01, rg23, 0, 2);
        const v128_t G = wasm_i64x2_shuffle(rg01, rg23, 1, 3);
        const v128_t B = wasm_i64x2_shuffle(bx01, bx23, 0, 2);
        const v128_t R16[2] = { wasm_u16x8_extend_low_u8x16(R), wasm_u16x8_extend_high_u8x16(R) };
        const v128_t G16[2] = { wasm_u16x8_extend_low_u8x16(G), wasm_u16x8_extend_high_u8x16(G) };
        const v128_t B16[2] = { wasm_u16x8_extend_low_u8x16(B), wasm_u16x8_extend_high_u8x16(B) };
        v128_t y[4], cb[4], cr[4];
        for (int q = 0; q < 4; q++) {
          const v128_t r = q & 1 ? wasm_u32x4_extend_high_u16x8(R16[q >> 1]) : wasm_u32x4_extend_low_u16x8(R16[q >> 1]);
          const v128_t g = q & 1 ? wasm_u32x4_extend_high_u16x8(G16[q >> 1]) : wasm_u32x4_extend_low_u16x8(G16[q >> 1]);
          const v128_t b = q & 1 ? wasm_u32x4_extend_high_u16x8(B16[q >> 1]) : wasm_u32x4_extend_low_u16x8(B16[q >> 1]);
          rgb_ycc_lanes(r, g, b, &y[q], &cb[q], &cr[q]);
        }
        wasm_v128_store(out0 + col, clamp_u8(y[0], y[1], y[2], y[3]));
        wasm_v128_store(out1 + col, clamp_u8(cb[0], cb[1], cb[2], cb[3]));
        wasm_v128_store(out2 + col, clamp_u8(cr[0], cr[1], cr[2], cr[3]));
      }
    }
    for (; col < num_cols; col++) {
      const JSAMPLE *px = inptr + col * size;
      const int r = px[r_off], g = px[g_off], b = px[b_off];
      out0[col] = (JSAMPLE)((CFIX(0.29900) * r + CFIX(0.58700) * g + CFIX(0.11400) * b + CC_HALF) >> 16);
      out1[col] = (JSAMPLE)((-CFIX(0.16874) * r - CFIX(0.33126) * g + CFIX(0.50000) * b + CC_OFF) >> 16);
      out2[col] = (JSAMPLE)((CFIX(0.50000) * r - CFIX(0.41869) * g - CFIX(0.08131) * b + CC_OFF) >> 16);
    }
  }
}


/* jdsample.c's h2v2_fancy_upsample: with colsum[i] = 3 in0[i] + in1[i]
 * (in1 the row above or below), output pixel 2i is (3 colsum[i] +
 * colsum[i-1] + 8) >> 4 and 2i+1 is (3 colsum[i] + colsum[i+1] + 7) >> 4;
 * at the row's ends the missing neighbour is colsum[i] itself. */
GLOBAL(int)
jsimd_can_h2v2_fancy_upsample(void)
{
  return 1;
}

static inline int colsum(const JSAMPLE *in0, const JSAMPLE *in1, JDIMENSION i)
{
  return in0[i] * 3 + in1[i];
}

static inline v128_t colsum8(const JSAMPLE *in0, const JSAMPLE *in1, JDIMENSION i)
{
  return wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_load8x8(in0 + i), wasm_i16x8_splat(3)),
                        wasm_u16x8_load8x8(in1 + i));
}

GLOBAL(void)
jsimd_h2v2_fancy_upsample(j_decompress_ptr cinfo, jpeg_component_info *compptr,
                          JSAMPARRAY input_data, JSAMPARRAY *output_data_ptr)
{
  JSAMPARRAY output_data = *output_data_ptr;
  const JDIMENSION w = compptr->downsampled_width; /* > 2 (jdsample.c) */
  int inrow = 0, outrow = 0;

  while (outrow < cinfo->max_v_samp_factor) {
    for (int v = 0; v < 2; v++) {
      const JSAMPLE *in0 = input_data[inrow];
      const JSAMPLE *in1 = input_data[v == 0 ? inrow - 1 : inrow + 1];
      JSAMPLE *out = output_data[outrow++];
      JDIMENSION i = 1;
      int c = colsum(in0, in1, 0);
      out[0] = (JSAMPLE)((c * 4 + 8) >> 4);
      out[1] = (JSAMPLE)((c * 3 + colsum(in0, in1, 1) + 7) >> 4);
      for (; i + 8 < w; i += 8) {
        const v128_t prev = colsum8(in0, in1, i - 1);
        const v128_t cur3 = wasm_i16x8_mul(colsum8(in0, in1, i), wasm_i16x8_splat(3));
        const v128_t next = colsum8(in0, in1, i + 1);
        /* (16-bit lanes: v128_t's operators would be 32-bit) */
        const v128_t even = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(cur3, prev), wasm_i16x8_splat(8)), 4);
        const v128_t odd = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(cur3, next), wasm_i16x8_splat(7)), 4);
        const v128_t lo = wasm_i16x8_shuffle(even, odd, 0, 8, 1, 9, 2, 10, 3, 11);
        const v128_t hi = wasm_i16x8_shuffle(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
        wasm_v128_store(out + 2 * i, wasm_u8x16_narrow_i16x8(lo, hi));
      }
      for (; i < w; i++) {
        c = colsum(in0, in1, i);
        out[2 * i] = (JSAMPLE)((c * 3 + colsum(in0, in1, i - 1) + 8) >> 4);
        out[2 * i + 1] = (JSAMPLE)((c * 3 + (i + 1 < w ? colsum(in0, in1, i + 1) : c) + 7) >> 4);
      }
    }
    inrow++;
  }
}


/* jcsample.c's h2v2_downsample: pad each row to 2 * output_cols by
 * repeating its last pixel (expand_right_edge), then each output sample is
 * the sum of a 2x2 block plus a bias of 1, 2, 1, 2, ... shifted right by 2. */
GLOBAL(int)
jsimd_can_h2v2_downsample(void)
{
  return 1;
}

GLOBAL(void)
jsimd_h2v2_downsample(j_compress_ptr cinfo, jpeg_component_info *compptr,
                      JSAMPARRAY input_data, JSAMPARRAY output_data)
{
  const JDIMENSION output_cols = compptr->width_in_blocks * DCTSIZE;
  const JDIMENSION input_cols = cinfo->image_width;
  const v128_t bias = wasm_i16x8_make(1, 2, 1, 2, 1, 2, 1, 2);

  if (output_cols * 2 > input_cols)
    for (int row = 0; row < cinfo->max_v_samp_factor; row++) {
      JSAMPLE *ptr = input_data[row] + input_cols;
      memset(ptr, ptr[-1], output_cols * 2 - input_cols);
    }

  for (int outrow = 0; outrow < compptr->v_samp_factor; outrow++) {
    const JSAMPLE *in0 = input_data[2 * outrow];
    const JSAMPLE *in1 = input_data[2 * outrow + 1];
    JSAMPLE *out = output_data[outrow];
    /* output_cols is a multiple of 8 (whole blocks). */
    for (JDIMENSION col = 0; col < output_cols; col += 8) {
      const v128_t sum = wasm_i16x8_add(
          wasm_i16x8_add(wasm_u16x8_extadd_pairwise_u8x16(wasm_v128_load(in0 + 2 * col)),
                         wasm_u16x8_extadd_pairwise_u8x16(wasm_v128_load(in1 + 2 * col))),
          bias);
      const v128_t q = wasm_u16x8_shr(sum, 2);
      wasm_v128_store64_lane(out + col, wasm_u8x16_narrow_i16x8(q, q), 0);
    }
  }
}
