//! The int8 kernel's weight layout for x86-64 with AVX-512BW (native only).
//!
//! [`super::int8`]'s row layout dots one activation row with one weight row and must sum
//! 16 lanes at the end of every dot. Here the weight is cut into panels of 16 output rows,
//! stored as pairs of columns: `[panel][k / 2][16 outputs][2]`. One `vpdpwssd` (VNNI) or
//! `vpmaddwd` + `vpaddd` of a panel vector with a broadcast pair of activations adds two
//! columns to 16 outputs at once, so each i32 lane ends holding one finished output: no
//! horizontal sums. A tile is up to 4 activation rows × 2 panels (8 accumulators).
//!
//! The sums are the same integers as the row layout's (and the browser's), so results
//! match them exactly. One lane sums `k / 2` pair products of at most
//! `2 · 2047 · 1023`; that fits an i32 for 512 pairs, so longer rows are summed in blocks
//! of 512 pairs and the blocks added in i64.

/// Outputs per panel (i32 lanes of a 512-bit register).
pub(crate) const WIDTH: usize = 16;
/// Column pairs summed in i32 before the running sum moves to i64.
const PAIRS_PER_BLOCK: usize = 512;
/// Panels whose weights are used by all rows of a group before moving on (they stay in L2).
const PANEL_BLOCK: usize = 8;

/// A `[out, k]` i16 weight in panels (`k` even).
#[derive(Debug, Clone)]
pub(crate) struct Panels {
    out: usize,
    k: usize,
    /// `[ceil(out / 16)][k / 2][16][2]`; rows past `out` are zero.
    data: Vec<i16>,
}

/// Whether this CPU runs the panel kernel.
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512bw")
}

impl Panels {
    /// `w` is `[out, k]` row-major; `k` must be even.
    pub(crate) fn pack(w: &[i16], out: usize, k: usize) -> Self {
        assert!(k.is_multiple_of(2) && w.len() == out * k, "panels need an even k and an [out, k] weight");
        let n = out.div_ceil(WIDTH);
        let mut data = vec![0i16; n * k * WIDTH];
        for o in 0..out {
            let (p, lane) = (o / WIDTH, o % WIDTH);
            for j in 0..k / 2 {
                let at = ((p * (k / 2) + j) * WIDTH + lane) * 2;
                data[at] = w[o * k + 2 * j];
                data[at + 1] = w[o * k + 2 * j + 1];
            }
        }
        Self { out, k, data }
    }

    fn panel(&self, p: usize) -> &[i16] {
        let len = self.k / 2 * WIDTH * 2;
        &self.data[p * len..(p + 1) * len]
    }

    /// Calls `emit(row, output, sum)` once for every row of `xq` (`[rows, k]`) and output,
    /// with the exact integer dot product (panel block by panel block, not in row order).
    pub(crate) fn dot_rows(&self, xq: &[i16], rows: usize, mut emit: impl FnMut(usize, usize, i64)) {
        let k = self.k;
        let n = self.out.div_ceil(WIDTH);
        for pb in (0..n).step_by(PANEL_BLOCK) {
            for r0 in (0..rows).step_by(4) {
                let nr = (rows - r0).min(4);
                let x: [&[i16]; 4] = std::array::from_fn(|r| if r < nr { &xq[(r0 + r) * k..(r0 + r + 1) * k] } else { &[][..] });
                let mut p = pb;
                while p < (pb + PANEL_BLOCK).min(n) {
                    let np = (n - p).min(2);
                    let mut sums = [[0i64; 2 * WIDTH]; 4];
                    let panels = [self.panel(p), if np == 2 { self.panel(p + 1) } else { &[][..] }];
                    tile(nr, np, &x, &panels, &mut sums);
                    for (r, row) in sums.iter().enumerate().take(nr) {
                        for (c, &s) in row.iter().enumerate().take(np * WIDTH) {
                            let o = p * WIDTH + c;
                            if o < self.out {
                                emit(r0 + r, o, s);
                            }
                        }
                    }
                    p += np;
                }
            }
        }
    }
}

/// Dispatches a tile of `nr` rows × `np` panels to the widest kernel the CPU has.
fn tile(nr: usize, np: usize, x: &[&[i16]; 4], panels: &[&[i16]; 2], sums: &mut [[i64; 2 * WIDTH]; 4]) {
    macro_rules! go {
        ($f:ident) => {
            // SAFETY: the caller checked the CPU features of `$f`; every x row has k values
            // and every panel k / 2 · 32, for the first nr rows and np panels.
            unsafe {
                match (nr, np) {
                    (4, 2) => $f::<4, 2>(x, panels, sums),
                    (3, 2) => $f::<3, 2>(x, panels, sums),
                    (2, 2) => $f::<2, 2>(x, panels, sums),
                    (1, 2) => $f::<1, 2>(x, panels, sums),
                    (4, _) => $f::<4, 1>(x, panels, sums),
                    (3, _) => $f::<3, 1>(x, panels, sums),
                    (2, _) => $f::<2, 1>(x, panels, sums),
                    _ => $f::<1, 1>(x, panels, sums),
                }
            }
        };
    }
    if std::arch::is_x86_feature_detected!("avx512vnni") {
        go!(tile_vnni)
    } else {
        go!(tile_bw)
    }
}

macro_rules! tile_kernel {
    ($(#[$doc:meta])* $name:ident, $features:literal, |$acc:ident, $x:ident, $w:ident| $madd:expr) => {
        $(#[$doc])*
        #[target_feature(enable = $features)]
        unsafe fn $name<const R: usize, const P: usize>(
            x: &[&[i16]; 4],
            panels: &[&[i16]; 2],
            sums: &mut [[i64; 2 * WIDTH]; 4],
        ) {
            use std::arch::x86_64::*;
            let pairs = panels[0].len() / (2 * WIDTH);
            let mut start = 0;
            while start < pairs {
                let end = (start + PAIRS_PER_BLOCK).min(pairs);
                let mut acc = [[_mm512_setzero_si512(); P]; R];
                for j in start..end {
                    let mut w = [_mm512_setzero_si512(); P];
                    for p in 0..P {
                        // SAFETY: panel p holds `pairs` vectors of 32 i16; j < pairs.
                        w[p] = unsafe { _mm512_loadu_si512(panels[p].as_ptr().add(j * 2 * WIDTH) as *const _) };
                    }
                    for r in 0..R {
                        // SAFETY: row r holds 2 · pairs values; this reads values 2j and 2j + 1.
                        let pair = unsafe { (x[r].as_ptr().add(2 * j) as *const i32).read_unaligned() };
                        let xv = _mm512_set1_epi32(pair);
                        for p in 0..P {
                            let ($acc, $x, $w) = (acc[r][p], xv, w[p]);
                            acc[r][p] = $madd;
                        }
                    }
                }
                for r in 0..R {
                    for p in 0..P {
                        let mut lanes = [0i32; WIDTH];
                        // SAFETY: `lanes` holds 16 i32 (unaligned store).
                        unsafe { _mm512_storeu_si512(lanes.as_mut_ptr() as *mut _, acc[r][p]) };
                        for (l, &v) in lanes.iter().enumerate() {
                            sums[r][p * WIDTH + l] += v as i64;
                        }
                    }
                }
                start = end;
            }
        }
    };
}

tile_kernel!(
    /// `vpmaddwd` + `vpaddd` (AVX-512BW).
    tile_bw,
    "avx512f,avx512bw",
    |acc, x, w| _mm512_add_epi32(acc, _mm512_madd_epi16(x, w))
);

tile_kernel!(
    /// `vpdpwssd` (AVX-512 VNNI: Ice Lake, Zen 4 and later).
    tile_vnni,
    "avx512f,avx512bw,avx512vnni",
    |acc, x, w| _mm512_dpwssd_epi32(acc, x, w)
);

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: usize, max: i32) -> Vec<i16> {
        (0..n).map(|i| (((i * 7919 + seed * 104_729) % (2 * max as usize + 1)) as i32 - max) as i16).collect()
    }

    /// Every tile shape and a row long enough to need two i32 blocks, against plain sums.
    #[test]
    fn panel_sums_equal_row_dots() {
        if !available() {
            return;
        }
        for (rows, out, k) in [(1, 1, 2), (3, 17, 8), (4, 32, 384), (9, 50, 64), (6, 33, 1536), (5, 16, 2048)] {
            let w = values(out * k, 1, 1023);
            let x = values(rows * k, 2, 2047);
            let p = Panels::pack(&w, out, k);
            let mut got = vec![i64::MIN; rows * out];
            p.dot_rows(&x, rows, |r, o, s| got[r * out + o] = s);
            for r in 0..rows {
                for o in 0..out {
                    let want: i64 = (0..k).map(|i| x[r * k + i] as i64 * w[o * k + i] as i64).sum();
                    assert_eq!(got[r * out + o], want, "rows {rows}, out {out}, k {k}: row {r}, output {o}");
                }
            }
        }
    }

    #[test]
    fn vnni_and_bw_tiles_agree() {
        if !(available() && std::arch::is_x86_feature_detected!("avx512vnni")) {
            return;
        }
        let k = 1100; // three i32 blocks
        let w = Panels::pack(&values(32 * k, 3, 1023), 32, k);
        let xs = values(4 * k, 4, 2047);
        let x: [&[i16]; 4] = std::array::from_fn(|r| &xs[r * k..(r + 1) * k]);
        let panels = [w.panel(0), w.panel(1)];
        let (mut a, mut b) = ([[0i64; 2 * WIDTH]; 4], [[0i64; 2 * WIDTH]; 4]);
        // SAFETY: the CPU has AVX-512BW and VNNI (checked above); shapes as `tile` passes them.
        unsafe {
            tile_bw::<4, 2>(&x, &panels, &mut a);
            tile_vnni::<4, 2>(&x, &panels, &mut b);
        }
        assert_eq!(a, b);
        assert!(a[0].iter().any(|&s| s != 0));
    }

    #[test]
    fn largest_values_do_not_overflow() {
        if !available() {
            return;
        }
        let k = 4096;
        let (w, x) = (vec![-1023i16; 3 * k], vec![2047i16; 4 * k]);
        let p = Panels::pack(&w, 3, k);
        let mut got = Vec::new();
        p.dot_rows(&x, 4, |_, _, s| got.push(s));
        assert_eq!(got, vec![-(k as i64) * 2047 * 1023; 12]);
    }
}
