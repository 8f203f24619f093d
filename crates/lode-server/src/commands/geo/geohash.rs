//! The geohash arithmetic of Redis's GEO commands, as Redis 7.0 computes it, to the last bit:
//! a position is a 52-bit interleaved geohash (26 bits of latitude in the even positions, 26 of
//! longitude in the odd ones) stored as a sorted-set score; a search covers its area with the
//! centre cell and its 8 neighbours at a step estimated from the radius.
//!
//! Role: pure functions of numbers (no I/O), called by commands/geo.rs. Every operation is the
//! same IEEE 754 double arithmetic in the same order as Redis's, so cell choices, the in-radius
//! test at the edge and the printed digits agree with it; the differential test in
//! tests/compat/test_geo_differential.py holds this against a real redis-server.
//!
//! Redis's latitude range is the Web Mercator one (±85.05112878), so the cells are not the
//! standard geohash cells; GEOHASH re-encodes with ±90 to print a standard geohash string.

/// The finest step: 26 bits per axis, 52 in all (a cell of about 0.6 m by 0.3 m at the equator).
pub(crate) const STEP_MAX: u8 = 26;
pub(crate) const LON_MIN: f64 = -180.0;
pub(crate) const LON_MAX: f64 = 180.0;
/// EPSG:900913 / Web Mercator limits, Redis's `GEO_LAT_MIN` / `GEO_LAT_MAX`.
pub(crate) const LAT_MIN: f64 = -85.05112878;
pub(crate) const LAT_MAX: f64 = 85.05112878;
/// The Earth radius Redis's haversine uses, metres.
pub(crate) const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Half the Mercator world width, metres: the radius step estimation doubles up to it.
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians, as one constant factor (the product rounds once).
const DEG_TO_RAD: f64 = std::f64::consts::PI / 180.0;

/// The score encoding's ranges: longitude ±180, latitude ±85.05112878.
const WGS84: Ranges =
    Ranges { lon: Range { min: LON_MIN, max: LON_MAX }, lat: Range { min: LAT_MIN, max: LAT_MAX } };
/// The standard geohash ranges GEOHASH prints in.
const STANDARD: Ranges =
    Ranges { lon: Range { min: -180.0, max: 180.0 }, lat: Range { min: -90.0, max: 90.0 } };

/// The standard geohash alphabet (base 32 without a, i, l, o).
const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Ranges {
    lon: Range,
    lat: Range,
}

/// A cell at `step` bits per axis. The indices are what Redis keeps in its interleaved word,
/// overflow included: a coordinate exactly at the top of its range has index `2^step`, one past
/// the last cell, and Redis carries that bit along, so this does too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cell {
    lat: u32,
    lon: u32,
    step: u8,
}

/// A cell's extent, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Area {
    pub lon: Range,
    pub lat: Range,
}

/// Bits of `v` moved to the even positions of a 64-bit word.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | x << 16) & 0x0000_FFFF_0000_FFFF;
    x = (x | x << 8) & 0x00FF_00FF_00FF_00FF;
    x = (x | x << 4) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | x << 2) & 0x3333_3333_3333_3333;
    (x | x << 1) & 0x5555_5555_5555_5555
}

/// The even-position bits of `x` gathered into 32 bits ([`spread`]'s inverse).
fn squash(x: u64) -> u32 {
    let mut x = x & 0x5555_5555_5555_5555;
    x = (x | x >> 1) & 0x3333_3333_3333_3333;
    x = (x | x >> 2) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | x >> 4) & 0x00FF_00FF_00FF_00FF;
    x = (x | x >> 8) & 0x0000_FFFF_0000_FFFF;
    ((x | x >> 16) & 0xFFFF_FFFF) as u32
}

/// C's `(uint64_t)` of a double as x86-64 code computes it (gcc: a signed truncation below
/// 2^63, else a truncation of `x - 2^63` with the top bit flipped; a value out of range gives
/// the "integer indefinite" 0x8000000000000000 from the truncation). Redis decodes any score
/// this way, so a geo key holding ordinary sorted-set scores decodes to the same places.
pub(crate) fn c_f64_to_u64(x: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    fn truncate(y: f64) -> u64 {
        if (-TWO_63..TWO_63).contains(&y) { y as i64 as u64 } else { 1 << 63 }
    }
    if x < TWO_63 { truncate(x) } else { truncate(x - TWO_63) ^ 1 << 63 }
}

impl Cell {
    /// The interleaved word: latitude bits even, longitude bits odd.
    pub(crate) fn bits(self) -> u64 {
        spread(self.lat) | spread(self.lon) << 1
    }

    /// Redis's `scoresOfGeoHashBox`: the scores of the points in this cell are `[min, max)`,
    /// the cell's word and the next one aligned to 52 bits (as doubles, as Redis passes them).
    pub(crate) fn score_range(self) -> (f64, f64) {
        let shift = 52 - 2 * u32::from(self.step);
        let bits = self.bits();
        ((bits << shift) as f64, (bits.wrapping_add(1) << shift) as f64)
    }

    /// One cell east (`d` = 1) or west (-1), wrapping around the antimeridian; the latitude
    /// index is kept as it is (Redis's `geohash_move_x`).
    fn move_lon(self, d: i64) -> Cell {
        Cell { lon: wrap(self.lon, d, self.step), ..self }
    }

    /// One cell north (1) or south (-1), wrapping (Redis's `geohash_move_y`).
    fn move_lat(self, d: i64) -> Cell {
        Cell { lat: wrap(self.lat, d, self.step), ..self }
    }
}

/// `(index + d) mod 2^step`.
fn wrap(index: u32, d: i64, step: u8) -> u32 {
    let cells = 1i64 << step;
    (i64::from(index) + d).rem_euclid(cells) as u32
}

/// Redis's `geohashEncode`: the cell of a position at `step`, `None` outside the ranges.
fn encode(ranges: &Ranges, lon: f64, lat: f64, step: u8) -> Option<Cell> {
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < ranges.lat.min || lat > ranges.lat.max || lon < ranges.lon.min || lon > ranges.lon.max
    {
        return None;
    }
    let cells = (1u64 << step) as f64;
    let lat_offset = (lat - ranges.lat.min) / (ranges.lat.max - ranges.lat.min) * cells;
    let lon_offset = (lon - ranges.lon.min) / (ranges.lon.max - ranges.lon.min) * cells;
    // C's double-to-uint32 conversion: truncation (the offsets are in [0, 2^26]).
    Some(Cell { lat: lat_offset as u32, lon: lon_offset as u32, step })
}

/// Redis's `geohashDecode`: a cell's extent.
fn decode(ranges: &Ranges, cell: Cell) -> Area {
    let cells = (1u64 << cell.step) as f64;
    let edge =
        |range: Range, index: u32| range.min + (f64::from(index) / cells) * (range.max - range.min);
    Area {
        lat: Range {
            min: edge(ranges.lat, cell.lat),
            max: edge(ranges.lat, cell.lat.wrapping_add(1)),
        },
        lon: Range {
            min: edge(ranges.lon, cell.lon),
            max: edge(ranges.lon, cell.lon.wrapping_add(1)),
        },
    }
}

/// The score of a position (Redis's GEOADD: step 26, aligned to 52 bits, as a double).
pub(crate) fn encode_score(lon: f64, lat: f64) -> Option<f64> {
    encode(&WGS84, lon, lat, STEP_MAX).map(|cell| cell.bits() as f64)
}

/// The cell a score stands for (Redis's `decodeGeohash`: the score cast to an integer).
fn score_cell(score: f64) -> Cell {
    let bits = c_f64_to_u64(score);
    Cell { lat: squash(bits), lon: squash(bits >> 1), step: STEP_MAX }
}

/// The position a score stands for: its cell's centre, clamped to the ranges
/// (`geohashDecodeAreaToLongLat`). What GEOPOS and WITHCOORD print.
pub(crate) fn decode_score(score: f64) -> (f64, f64) {
    let area = decode(&WGS84, score_cell(score));
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// GEOHASH's string: the position re-encoded with the standard ±90 latitude range, 11 base-32
/// characters of which the last is always '0' (there are only 52 bits).
pub(crate) fn standard_geohash(score: f64) -> [u8; 11] {
    let (lon, lat) = decode_score(score);
    let bits = encode(&STANDARD, lon, lat, STEP_MAX).map_or(0, Cell::bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().take(10).enumerate() {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

fn deg_rad(deg: f64) -> f64 {
    deg * DEG_TO_RAD
}

fn rad_deg(rad: f64) -> f64 {
    rad / DEG_TO_RAD
}

/// Haversine great-circle distance, metres (Redis's `geohashGetDistance`). When the longitudes
/// are the same (the sine of half their difference is 0), Redis 7.0 takes the distance along
/// the meridian instead, which differs from the haversine in the last bits: a point at the
/// edge of a radius or a box is in or out exactly as in Redis only with this shortcut.
pub(crate) fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (lon1r, lon2r) = (deg_rad(lon1), deg_rad(lon2));
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs();
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_M * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// A search area: a circle or an axis-aligned box around a centre, sizes in `unit` metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    pub lon: f64,
    pub lat: f64,
    /// Metres per unit of the sizes (and of the distances replied).
    pub unit_m: f64,
    pub kind: ShapeKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ShapeKind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

impl Shape {
    /// The distance from the centre to the point at `score`, metres, with the point's position,
    /// if the point is inside (Redis's `geoWithinShape`).
    pub(crate) fn contains(&self, score: f64) -> Option<(f64, f64, f64)> {
        let (lon, lat) = decode_score(score);
        match self.kind {
            ShapeKind::Radius(radius) => {
                let d = distance(self.lon, self.lat, lon, lat);
                // `d > r` rejects; a NaN distance (possible for antipodes) is kept, as in Redis.
                if d > radius * self.unit_m {
                    return None;
                }
                Some((d, lon, lat))
            }
            ShapeKind::Box { width, height } => {
                let (width_m, height_m) = (width * self.unit_m, height * self.unit_m);
                // Along the point's parallel and along its meridian (the latter is the
                // shortcut of `distance`, Redis's `geohashGetLatDistance`).
                let lon_distance = distance(lon, lat, self.lon, lat);
                let lat_distance = distance(lon, lat, lon, self.lat);
                if lon_distance > width_m / 2.0 || lat_distance > height_m / 2.0 {
                    return None;
                }
                Some((distance(self.lon, self.lat, lon, lat), lon, lat))
            }
        }
    }

    /// `[min_lon, min_lat, max_lon, max_lat]` of the area (Redis's `geohashBoundingBox`): the
    /// longitude span is measured at the edge nearer the pole, which is the wider one.
    fn bounds(&self) -> [f64; 4] {
        let (half_w, half_h) = match self.kind {
            ShapeKind::Radius(r) => (self.unit_m * r, self.unit_m * r),
            ShapeKind::Box { width, height } => {
                (self.unit_m * (width / 2.0), self.unit_m * (height / 2.0))
            }
        };
        let lat_delta = rad_deg(half_h / EARTH_RADIUS_M);
        let lon_delta_top = rad_deg(half_w / EARTH_RADIUS_M / deg_rad(self.lat + lat_delta).cos());
        let lon_delta_bottom =
            rad_deg(half_w / EARTH_RADIUS_M / deg_rad(self.lat - lat_delta).cos());
        let lon_delta = if self.lat < 0.0 { lon_delta_bottom } else { lon_delta_top };
        [self.lon - lon_delta, self.lat - lat_delta, self.lon + lon_delta, self.lat + lat_delta]
    }

    /// The radius the step is estimated from, metres: the circle's, or the box's half diagonal.
    fn reach_m(&self) -> f64 {
        let r = match self.kind {
            ShapeKind::Radius(r) => r,
            ShapeKind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        };
        r * self.unit_m
    }

    /// The cells to scan, in Redis's order (centre, N, S, E, W, NE, NW, SE, SW), `None` for a
    /// neighbour that lies wholly outside the bounding box
    /// (Redis's `geohashCalculateAreasByShapeWGS84`).
    pub(crate) fn cells(&self) -> [Option<Cell>; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let mut step = estimate_step(self.reach_m(), self.lat);
        let mut centre = self.centre_cell(step);
        let mut n = neighbours(centre);
        // Near a cell's edge the estimated step can leave part of the area outside the 3x3
        // block: if any side neighbour does not reach the bounding box, go one step coarser.
        let too_fine = {
            let [_, north, south, east, west, ..] = n.map(|c| decode(&WGS84, c));
            north.lat.max < max_lat
                || south.lat.min > min_lat
                || east.lon.max < max_lon
                || west.lon.min > min_lon
        };
        if step > 1 && too_fine {
            step -= 1;
            centre = self.centre_cell(step);
            n = neighbours(centre);
        }
        let mut cells = n.map(Some);
        if step >= 2 {
            let area = decode(&WGS84, centre);
            let mut drop = |which: [usize; 3]| which.iter().for_each(|&i| cells[i] = None);
            if area.lat.min < min_lat {
                drop([SOUTH, SOUTH_WEST, SOUTH_EAST]);
            }
            if area.lat.max > max_lat {
                drop([NORTH, NORTH_EAST, NORTH_WEST]);
            }
            if area.lon.min < min_lon {
                drop([WEST, SOUTH_WEST, NORTH_WEST]);
            }
            if area.lon.max > max_lon {
                drop([EAST, SOUTH_EAST, NORTH_EAST]);
            }
        }
        cells
    }

    fn centre_cell(&self, step: u8) -> Cell {
        // The centre is a checked or decoded position, always inside the ranges.
        encode(&WGS84, self.lon, self.lat, step).unwrap_or(Cell { lat: 0, lon: 0, step })
    }
}

const NORTH: usize = 1;
const SOUTH: usize = 2;
const EAST: usize = 3;
const WEST: usize = 4;
const NORTH_EAST: usize = 5;
const NORTH_WEST: usize = 6;
const SOUTH_EAST: usize = 7;
const SOUTH_WEST: usize = 8;

/// `[centre, N, S, E, W, NE, NW, SE, SW]` (Redis's `geohashNeighbors`, each diagonal moved in
/// longitude first, then latitude).
fn neighbours(c: Cell) -> [Cell; 9] {
    [
        c,
        c.move_lat(1),
        c.move_lat(-1),
        c.move_lon(1),
        c.move_lon(-1),
        c.move_lon(1).move_lat(1),
        c.move_lon(-1).move_lat(1),
        c.move_lon(1).move_lat(-1),
        c.move_lon(-1).move_lat(-1),
    ]
}

/// Redis's `geohashEstimateStepsByRadius`: the coarsest step whose cells still span the radius,
/// two steps coarser for safety, one or two more towards the poles, within 1..=26.
fn estimate_step(mut range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return STEP_MAX;
    }
    let mut step: i32 = 1;
    while range_m < MERCATOR_MAX {
        range_m *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(STEP_MAX)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values read from redis-server 7.0.15 (GEOADD then ZSCORE / GEOPOS / GEOHASH).
    #[test]
    fn encode_score_matches_redis() {
        assert_eq!(encode_score(13.361389, 38.115556), Some(3479099956230698.0));
        assert_eq!(encode_score(15.087269, 37.502669), Some(3479447370796909.0));
        assert_eq!(encode_score(-180.0, 0.0), Some(1125899906842624.0));
        assert_eq!(encode_score(0.0, -85.05112878), Some(2251799813685248.0));
        assert_eq!(encode_score(0.0, 85.05112878), Some(6755399441055744.0));
        // At the top of both ranges the indices overflow into bits 52 and 53.
        assert_eq!(encode_score(180.0, 0.0), Some(10133099161583616.0));
        assert_eq!(encode_score(180.0, 85.05112878), Some(13510798882111488.0));
        assert_eq!(encode_score(180.0000001, 0.0), None);
        assert_eq!(encode_score(0.0, 85.05112879), None);
        assert_eq!(encode_score(f64::INFINITY, 0.0), None);
    }

    fn human(x: f64) -> String {
        let text = format!("{x:.17}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }

    #[test]
    fn decode_score_gives_the_cell_centre_redis_prints() {
        let (lon, lat) = decode_score(3479099956230698.0);
        assert_eq!(
            (human(lon), human(lat)),
            ("13.36138933897018433".into(), "38.11555639549629859".into())
        );
        let (lon, lat) = decode_score(10133099161583616.0);
        assert_eq!((human(lon), human(lat)), ("180".into(), "0.00000126736058093".into()));
        let (lon, lat) = decode_score(6755399441055744.0);
        assert_eq!(
            (human(lon), human(lat)),
            ("0.00000268220901489".into(), "85.0511287799999991".into())
        );
        let (lon, lat) = decode_score(2251799813685248.0);
        assert_eq!(
            (human(lon), human(lat)),
            ("0.00000268220901489".into(), "-85.05112751263942528".into())
        );
    }

    #[test]
    fn decode_of_scores_no_geoadd_writes_follows_the_c_cast() {
        // ZADD'ed scores, GEOPOS'ed on redis-server 7.0.15 (x86-64).
        let cases: [(f64, (&str, &str)); 9] = [
            (-1.0, ("180", "85.0511287799999991")),
            (1e300, ("-179.99999731779098511", "-85.05112751263942528")),
            (4503599627370496.0, ("-179.99999731779098511", "85.0511287799999991")),
            (f64::INFINITY, ("-179.99999731779098511", "-85.05112751263942528")),
            (f64::NEG_INFINITY, ("180", "-85.05112751263942528")),
            (1.5, ("-179.99999731779098511", "-85.05112497791824921")),
            (-0.5, ("-179.99999731779098511", "-85.05112751263942528")),
            (13835058055282163712.0, ("180", "85.0511287799999991")),
            (18446744073709551616.0, ("-179.99999731779098511", "-85.05112751263942528")),
        ];
        for (score, (lon, lat)) in cases {
            let (x, y) = decode_score(score);
            assert_eq!((human(x).as_str(), human(y).as_str()), (lon, lat), "score {score}");
        }
        assert_eq!(c_f64_to_u64(-2.0), u64::MAX - 1);
        assert_eq!(c_f64_to_u64(9223372036854775808.0), 1 << 63);
        assert_eq!(c_f64_to_u64(-9223372036854775808.0), 1 << 63);
    }

    #[test]
    fn standard_geohash_matches_redis() {
        let s = |score: f64| String::from_utf8(standard_geohash(score).to_vec()).expect("ascii");
        assert_eq!(s(3479099956230698.0), "sqc8b49rny0");
        assert_eq!(s(10133099161583616.0), "80000000000");
        assert_eq!(s(1125899906842624.0), "80000000000");
        assert_eq!(s(6755399441055744.0), "up05b5048p0");
        assert_eq!(s(2251799813685248.0), "h0bh0hbj200");
        assert_eq!(s(13510798882111488.0), "bp05b5048p0");
        assert_eq!(s(1.5), "00bh0hbj210");
    }

    #[test]
    fn distance_matches_redis() {
        // GEODIST Sicily Palermo Catania = 166274.1516 on redis-server.
        let (a, b) = (decode_score(3479099956230698.0), decode_score(3479447370796909.0));
        assert_eq!(format!("{:.4}", distance(a.0, a.1, b.0, b.1)), "166274.1516");
        assert_eq!(distance(a.0, a.1, a.0, a.1), 0.0);
    }

    #[test]
    fn same_longitude_distance_is_the_meridian_shortcut_redis_uses() {
        // redis-server 7.0.15: the member at score 1136442618895497 is found from this centre
        // (on its meridian) with radius 83933.50345926182 m, the meridian arc, and not with
        // 83933.5034592618 m, the haversine of the same points, one ulp shorter. The same
        // holds for a box of twice that height.
        let (lon, lat, score) = (-165.24101346731186, 4.412975929861693, 1136442618895497.0);
        let radius = |r: f64| Shape { lon, lat, unit_m: 1.0, kind: ShapeKind::Radius(r) };
        let bx = |h: f64| Shape {
            lon,
            lat,
            unit_m: 1.0,
            kind: ShapeKind::Box { width: 10.0, height: 2.0 * h },
        };
        assert!(radius(83933.50345926182).contains(score).is_some());
        assert!(radius(83933.5034592618).contains(score).is_none());
        assert!(bx(83933.50345926182).contains(score).is_some());
        assert!(bx(83933.5034592618).contains(score).is_none());
        let (lon, lat, score) = (131.1182400584221, 46.34212061079445, 4269887831894351.0);
        let radius = |r: f64| Shape { lon, lat, unit_m: 1.0, kind: ShapeKind::Radius(r) };
        assert!(radius(99594.05054283436).contains(score).is_some());
        assert!(radius(99594.05054283433).contains(score).is_none());
    }

    #[test]
    fn spread_and_squash_are_inverse_and_interleave_lat_even() {
        for v in [0u32, 1, 2, 0x03FF_FFFF, 0x0400_0000, u32::MAX, 0x1234_5678] {
            assert_eq!(squash(spread(v)), v);
            assert_eq!(squash(spread(v) << 1 >> 1), v);
        }
        assert_eq!(Cell { lat: 1, lon: 0, step: 26 }.bits(), 1);
        assert_eq!(Cell { lat: 0, lon: 1, step: 26 }.bits(), 2);
        let c = score_cell(3479099956230698.0);
        assert_eq!(c.bits(), 3479099956230698);
    }

    #[test]
    fn encode_decode_round_trip_stays_in_the_cell() {
        use rand::Rng;
        let seed = lode_testkit::Seed::new("encode_decode_round_trip_stays_in_the_cell");
        let mut rng = seed.rng(0);
        for _ in 0..lode_testkit::iterations(20_000) {
            let lon = rng.random_range(LON_MIN..=LON_MAX);
            let lat = rng.random_range(LAT_MIN..=LAT_MAX);
            let score = encode_score(lon, lat).expect("in range");
            let cell = score_cell(score);
            let area = decode(&WGS84, cell);
            // The input lies in its cell (the top edge belongs to the overflow index).
            assert!(area.lon.min <= lon && lon <= area.lon.max, "{lon} in {area:?}");
            assert!(area.lat.min <= lat && lat <= area.lat.max, "{lat} in {area:?}");
            // Re-encoding the decoded centre gives the same score.
            let (x, y) = decode_score(score);
            if cell.lon < 1 << 26 && cell.lat < 1 << 26 {
                assert_eq!(encode_score(x, y), Some(score), "{lon},{lat}");
            }
        }
    }

    #[test]
    fn neighbours_wrap_around_the_antimeridian() {
        let c = Cell { lat: 5, lon: (1 << 26) - 1, step: 26 };
        assert_eq!(c.move_lon(1).lon, 0);
        assert_eq!(Cell { lon: 0, ..c }.move_lon(-1).lon, (1 << 26) - 1);
        // An overflowed latitude index is kept by a longitude move, wrapped by a latitude move.
        let top = Cell { lat: 1 << 3, lon: 2, step: 3 };
        assert_eq!(top.move_lon(1), Cell { lat: 8, lon: 3, step: 3 });
        assert_eq!(top.move_lat(1), Cell { lat: 1, lon: 2, step: 3 });
        assert_eq!(top.move_lat(-1), Cell { lat: 7, lon: 2, step: 3 });
    }

    #[test]
    fn estimate_step_follows_the_radius_and_latitude() {
        assert_eq!(estimate_step(0.0, 0.0), 26);
        assert_eq!(estimate_step(1.0, 0.0), 24);
        assert_eq!(estimate_step(100_000.0, 0.0), 7);
        assert_eq!(estimate_step(100_000.0, 70.0), 6);
        assert_eq!(estimate_step(100_000.0, -81.0), 5);
        assert_eq!(estimate_step(f64::INFINITY, 0.0), 1);
        assert_eq!(estimate_step(5e7, 0.0), 1);
    }

    #[test]
    fn score_range_covers_the_cell() {
        let c = score_cell(3479099956230698.0);
        assert_eq!(c.score_range(), (3479099956230698.0, 3479099956230699.0));
        let coarse = Cell { lat: 1, lon: 1, step: 1 };
        assert_eq!(coarse.score_range(), ((3u64 << 50) as f64, (4u64 << 50) as f64));
    }
}
