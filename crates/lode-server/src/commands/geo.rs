//! Geospatial commands (Redis's geo.c): GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH,
//! GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and the `_RO` forms.
//!
//! A geo key is a sorted set (TYPE zset) whose scores are 52-bit geohashes (geo/geohash.rs),
//! stored in the sorted-set encoding of docs/format/keys.md: per member, its element record
//! (`element_key` -> the 8 score bytes) and its score-index record (`score_index_key` ->
//! empty), written and deleted together, read and written through the sorted-set module's
//! own `ZSet` (zsets/store.rs). So ZRANGE, ZSCORE and ZREM work on a geo key, and a search
//! is at most 9 range scans of the score index, one per cell of the 3x3 block that covers the
//! area (geohash.rs), each starting at the cell's first score: the points read are those of
//! the block, never the whole key, so a search costs the same on a key far larger than
//! memory.
//!
//! Replies follow Redis 7.0 to the byte: coordinates printed as `%.17Lf` with trailing zeros
//! cut (`Reply::DoubleText`: a RESP3 double), distances as `%.4f` (a bulk string in both
//! protocols), matches in Redis's discovery order (cell by cell, in score order), sorted with
//! Redis's own sorts so equal distances come out in its order (geo/order.rs).
//!
//! Memory: a search holds its matches (member, score, position, distance) until it replies,
//! as Redis does; at most [`GEO_MATCHES_BYTES_MAX`] of them, and no more than the client's
//! output limit allows when they all go into the reply. With COUNT n ANY the scan stops at n.
//! The STORE forms write through the sorted sets' `store_result`, so their bound on one
//! command's writes (128 MiB of records) holds here too.

mod geohash;
mod order;

use super::zsets::{score::ScoreRange, score::parse_score, store::ZSet, store_result};
use super::{get_collection, save_collection};
use crate::command::{CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::keyspace::{self, Kind};
use bytes::Bytes;
use geohash::{Shape, ShapeKind};
use lode_resp::Reply;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::ops::ControlFlow;

const W: u32 = WRITE | ENGINE;
const R: u32 = READONLY | ENGINE;

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "geo";

/// Bytes of matches one search may hold in memory, counting each match's member plus
/// [`MATCH_OVERHEAD_BYTES`]. 1 GiB: about ten million matches of short members, far more than
/// any useful reply; past it the search fails (with COUNT n ANY it stops at n matches instead).
pub const GEO_MATCHES_BYTES_MAX: usize = 1 << 30;
/// What one match costs besides its member: score, position, distance, and the member's
/// handle.
const MATCH_OVERHEAD_BYTES: usize = 64;
/// Reply bytes one returned match costs besides its member, with every WITH option (framing,
/// a distance, a hash, two coordinates): charged against the output limit as matches arrive.
const MATCH_REPLY_BYTES: usize = 96;

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(
        GROUP,
        "geoadd",
        -5,
        W | DENYOOM,
        (1, 1, 1),
        "Add one or more geospatial items in the geospatial index represented using a sorted set",
        "3.2.0",
        geoadd
    ),
    spec!(
        GROUP,
        "geopos",
        -2,
        R,
        (1, 1, 1),
        "Returns longitude and latitude of members of a geospatial index",
        "3.2.0",
        geopos
    ),
    spec!(
        GROUP,
        "geodist",
        -4,
        R,
        (1, 1, 1),
        "Returns the distance between two members of a geospatial index",
        "3.2.0",
        geodist
    ),
    spec!(
        GROUP,
        "geohash",
        -2,
        R,
        (1, 1, 1),
        "Returns members of a geospatial index as standard geohash strings",
        "3.2.0",
        geohash_command
    ),
    spec!(
        GROUP,
        "geosearch",
        -7,
        R,
        (1, 1, 1),
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.",
        "6.2.0",
        geosearch
    ),
    spec!(
        GROUP,
        "geosearchstore",
        -8,
        W | DENYOOM,
        (1, 2, 1),
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.",
        "6.2.0",
        geosearchstore
    ),
    spec!(
        GROUP,
        "georadius",
        -6,
        W | DENYOOM,
        (1, 1, 1),
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point",
        "3.2.0",
        georadius
    ),
    spec!(
        GROUP,
        "georadius_ro",
        -6,
        R,
        (1, 1, 1),
        "A read-only variant for GEORADIUS",
        "3.2.10",
        georadius_ro
    ),
    spec!(
        GROUP,
        "georadiusbymember",
        -5,
        W | DENYOOM,
        (1, 1, 1),
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member",
        "3.2.0",
        georadiusbymember
    ),
    spec!(
        GROUP,
        "georadiusbymember_ro",
        -5,
        R,
        (1, 1, 1),
        "A read-only variant for GEORADIUSBYMEMBER",
        "3.2.10",
        georadiusbymember_ro
    ),
];

// ---- Arguments -------------------------------------------------------------------------------

/// An option word compared as Redis's `strcasecmp` does: the argument up to its first NUL.
fn is_word(arg: &[u8], word: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// A float argument (Redis's `getDoubleFromObject`, as ZADD reads a score); `msg` is the
/// error when it is not one.
fn double_arg(arg: &[u8], msg: &'static str) -> Result<f64, CommandError> {
    parse_score(arg).ok_or_else(|| msg.into())
}

/// Redis's `extractLongLatOrReply`.
fn lon_lat_args(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CommandError> {
    let lon = double_arg(lon, errors::NOT_FLOAT)?;
    let lat = double_arg(lat, errors::NOT_FLOAT)?;
    if !(geohash::LON_MIN..=geohash::LON_MAX).contains(&lon)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(errors::geo_invalid_pair(lon, lat));
    }
    Ok((lon, lat))
}

/// Metres per unit (Redis's `extractUnitOrReply`).
fn unit_arg(arg: &[u8]) -> Result<f64, CommandError> {
    Ok(match () {
        () if is_word(arg, "m") => 1.0,
        () if is_word(arg, "km") => 1000.0,
        () if is_word(arg, "ft") => 0.3048,
        () if is_word(arg, "mi") => 1609.34,
        () => return Err(errors::GEO_UNIT.into()),
    })
}

/// `radius unit` (Redis's `extractDistanceOrReply`): (radius, metres per unit).
fn radius_args(radius: &[u8], unit: &[u8]) -> Result<(f64, f64), CommandError> {
    let r = double_arg(radius, errors::GEO_RADIUS_NOT_NUMBER)?;
    if r < 0.0 {
        return Err(errors::GEO_RADIUS_NEGATIVE.into());
    }
    Ok((r, unit_arg(unit)?))
}

/// `width height unit` (Redis's `extractBoxOrReply`): (width, height, metres per unit).
fn box_args(width: &[u8], height: &[u8], unit: &[u8]) -> Result<(f64, f64, f64), CommandError> {
    let w = double_arg(width, errors::GEO_WIDTH_NOT_NUMBER)?;
    let h = double_arg(height, errors::GEO_HEIGHT_NOT_NUMBER)?;
    if h < 0.0 || w < 0.0 {
        return Err(errors::GEO_BOX_NEGATIVE.into());
    }
    Ok((w, h, unit_arg(unit)?))
}

// ---- GEOADD, GEOPOS, GEODIST, GEOHASH ----------------------------------------------------------

fn geoadd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut first = 2;
    while let Some(arg) = args.get(first) {
        match () {
            () if is_word(arg, "nx") => nx = true,
            () if is_word(arg, "xx") => xx = true,
            () if is_word(arg, "ch") => ch = true,
            () => break,
        }
        first += 1;
    }
    let triples = &args[first..];
    if !triples.len().is_multiple_of(3) || (xx && nx) || triples.is_empty() {
        return Err(errors::SYNTAX.into());
    }
    let mut points = Vec::with_capacity(triples.len() / 3);
    for t in triples.chunks_exact(3) {
        let (lon, lat) = lon_lat_args(&t[0], &t[1])?;
        let score = geohash::encode_score(lon, lat).ok_or(errors::SYNTAX)?;
        points.push((score, &t[2]));
    }
    for (_, member) in &points {
        keyspace::check_element(key, member)?;
    }
    let meta = match get_collection(ctx, key, Kind::ZSet)? {
        Some(meta) => meta,
        None if xx => return Ok(Reply::Integer(0)),
        None => ctx.tx.new_collection(Kind::ZSet)?,
    };
    let mut z = ZSet::new(ctx.tx.db, key.clone(), meta);
    let (mut added, mut updated) = (0i64, 0i64);
    for (score, member) in points {
        match z.score(ctx.tx, member)? {
            Some(_) if nx => {}
            Some(old) if old == score => {}
            Some(old) => {
                z.set(ctx.tx, member, Some(old), score)?;
                updated += 1;
            }
            None if xx => {}
            None => {
                z.set(ctx.tx, member, None, score)?;
                added += 1;
            }
        }
    }
    if added + updated > 0 {
        save_collection(ctx, key, z.meta)?;
    }
    Ok(Reply::Integer(if ch { added + updated } else { added }))
}

/// Redis's `addReplyHumanLongDouble` of a double: `%.17Lf` (the exact value rounded half to
/// even at 17 decimals), trailing zeros and dot cut, "-0" as "0".
fn human_double(x: f64) -> Reply {
    let mut text = format!("{x:.17}");
    if text.contains('.') {
        let cut = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(cut);
    }
    if text == "-0" {
        text = "0".into();
    }
    Reply::DoubleText(Bytes::from(text))
}

/// Redis's `addReplyDoubleDistance`: `%.4f`, a bulk string in both protocols.
fn distance_reply(d: f64) -> Reply {
    let text = if d.is_nan() {
        // glibc prints the sign of a NaN (the NaN of an invalid operation has it set).
        if d.is_sign_negative() { "-nan".to_string() } else { "nan".to_string() }
    } else {
        format!("{d:.4}")
    };
    Reply::Bulk(Bytes::from(text))
}

fn position_reply(score: f64) -> Reply {
    let (lon, lat) = geohash::decode_score(score);
    Reply::Array(vec![human_double(lon), human_double(lat)])
}

/// The geo key (a sorted set) at `key` for a read, the keyspace hit or miss counted.
fn read_geo(ctx: &mut Ctx<'_, '_>, key: &Bytes) -> Result<Option<ZSet>, CommandError> {
    let meta = get_collection(ctx, key, Kind::ZSet)?;
    ctx.hit(meta.is_some());
    Ok(meta.map(|meta| ZSet::new(ctx.tx.db, key.clone(), meta)))
}

fn geopos(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let z = read_geo(ctx, key)?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for member in &args[2..] {
        let score = match &z {
            Some(z) => z.score(ctx.tx, member)?,
            None => None,
        };
        out.push(score.map_or(Reply::NullArray, position_reply));
    }
    Ok(Reply::Array(out))
}

fn geodist(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let unit_m = match args.len() {
        4 => 1.0,
        5 => unit_arg(&args[4])?,
        _ => return Err(errors::SYNTAX.into()),
    };
    let Some(z) = read_geo(ctx, &args[1])? else { return Ok(Reply::Null) };
    let Some(a) = z.score(ctx.tx, &args[2])? else { return Ok(Reply::Null) };
    let Some(b) = z.score(ctx.tx, &args[3])? else { return Ok(Reply::Null) };
    let ((lon1, lat1), (lon2, lat2)) = (geohash::decode_score(a), geohash::decode_score(b));
    Ok(distance_reply(geohash::distance(lon1, lat1, lon2, lat2) / unit_m))
}

fn geohash_command(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let z = read_geo(ctx, key)?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for member in &args[2..] {
        let score = match &z {
            Some(z) => z.score(ctx.tx, member)?,
            None => None,
        };
        out.push(score.map_or(Reply::Null, |s| Reply::bulk(geohash::standard_geohash(s))));
    }
    Ok(Reply::Array(out))
}

// ---- GEOSEARCH and the GEORADIUS family --------------------------------------------------------

/// Which command of the search family is running (Redis's `georadiusGeneric` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS (`store` false: GEORADIUS_RO).
    Radius {
        store: bool,
    },
    /// GEORADIUSBYMEMBER (`store` false: its `_RO` form).
    RadiusByMember {
        store: bool,
    },
    Search,
    SearchStore,
}

impl Form {
    fn is_search(self) -> bool {
        matches!(self, Form::Search | Form::SearchStore)
    }

    fn takes_store_option(self) -> bool {
        matches!(self, Form::Radius { store: true } | Form::RadiusByMember { store: true })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A parsed search (Redis's `georadiusGeneric` arguments).
#[derive(Debug)]
struct Query {
    centre: Option<(f64, f64)>,
    kind: Option<ShapeKind>,
    unit_m: f64,
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    sort: Sort,
    /// COUNT's n; 0 = no COUNT.
    count: u64,
    any: bool,
    /// STORE / STOREDIST / GEOSEARCHSTORE's destination.
    store: Option<Bytes>,
    store_dist: bool,
}

fn geosearch(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    search(ctx, args, Form::Search)
}

fn geosearchstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    search(ctx, args, Form::SearchStore)
}

fn georadius(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    search(ctx, args, Form::Radius { store: true })
}

fn georadius_ro(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    search(ctx, args, Form::Radius { store: false })
}

fn georadiusbymember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    search(ctx, args, Form::RadiusByMember { store: true })
}

fn georadiusbymember_ro(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    search(ctx, args, Form::RadiusByMember { store: false })
}

/// The position of `member` as a search centre.
fn member_centre(
    ctx: &mut Ctx<'_, '_>,
    z: &ZSet,
    member: &[u8],
) -> Result<(f64, f64), CommandError> {
    let score = z.score(ctx.tx, member)?.ok_or(errors::GEO_MEMBER_MISSING)?;
    Ok(geohash::decode_score(score))
}

/// Parses the arguments in Redis's order, so the first bad one is the one reported; a
/// FROMMEMBER member is looked up as its argument is reached.
fn parse_query(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    form: Form,
    src: Option<&ZSet>,
) -> Result<Query, CommandError> {
    let mut q = Query {
        centre: None,
        kind: None,
        unit_m: 1.0,
        with_dist: false,
        with_hash: false,
        with_coord: false,
        sort: Sort::None,
        count: 0,
        any: false,
        store: None,
        store_dist: false,
    };
    let base = match form {
        Form::Radius { .. } => {
            q.centre = Some(lon_lat_args(&args[2], &args[3])?);
            let (r, unit_m) = radius_args(&args[4], &args[5])?;
            (q.kind, q.unit_m) = (Some(ShapeKind::Radius(r)), unit_m);
            6
        }
        Form::RadiusByMember { .. } => {
            // Without the key Redis reads neither the member nor the radius.
            if let Some(z) = src {
                q.centre = Some(member_centre(ctx, z, &args[2])?);
                let (r, unit_m) = radius_args(&args[3], &args[4])?;
                (q.kind, q.unit_m) = (Some(ShapeKind::Radius(r)), unit_m);
            }
            5
        }
        Form::Search => 2,
        Form::SearchStore => {
            q.store = Some(args[1].clone());
            3
        }
    };
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let mut i = base;
    while i < args.len() {
        let arg = &args[i];
        let more = args.len() - i - 1;
        if is_word(arg, "withdist") {
            q.with_dist = true;
        } else if is_word(arg, "withhash") {
            q.with_hash = true;
        } else if is_word(arg, "withcoord") {
            q.with_coord = true;
        } else if is_word(arg, "any") {
            q.any = true;
        } else if is_word(arg, "asc") {
            q.sort = Sort::Asc;
        } else if is_word(arg, "desc") {
            q.sort = Sort::Desc;
        } else if is_word(arg, "count") && more >= 1 {
            let n = super::int_arg(&args[i + 1])?;
            q.count =
                u64::try_from(n).ok().filter(|&n| n > 0).ok_or(errors::GEO_COUNT_NOT_POSITIVE)?;
            i += 1;
        } else if (is_word(arg, "store") || is_word(arg, "storedist"))
            && more >= 1
            && form.takes_store_option()
        {
            q.store = Some(args[i + 1].clone());
            q.store_dist = is_word(arg, "storedist");
            i += 1;
        } else if is_word(arg, "storedist") && form == Form::SearchStore {
            q.store_dist = true;
        } else if is_word(arg, "frommember") && more >= 1 && form.is_search() && !from_lonlat {
            if let Some(z) = src {
                q.centre = Some(member_centre(ctx, z, &args[i + 1])?);
            }
            from_member = true;
            i += 1;
        } else if is_word(arg, "fromlonlat") && more >= 2 && form.is_search() && !from_member {
            q.centre = Some(lon_lat_args(&args[i + 1], &args[i + 2])?);
            from_lonlat = true;
            i += 2;
        } else if is_word(arg, "byradius") && more >= 2 && form.is_search() && !by_box {
            let (r, unit_m) = radius_args(&args[i + 1], &args[i + 2])?;
            (q.kind, q.unit_m) = (Some(ShapeKind::Radius(r)), unit_m);
            by_radius = true;
            i += 2;
        } else if is_word(arg, "bybox") && more >= 3 && form.is_search() && !by_radius {
            let (width, height, unit_m) = box_args(&args[i + 1], &args[i + 2], &args[i + 3])?;
            (q.kind, q.unit_m) = (Some(ShapeKind::Box { width, height }), unit_m);
            by_box = true;
            i += 3;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if q.store.is_some() && (q.with_dist || q.with_hash || q.with_coord) {
        return Err(errors::geo_store_with_options(form == Form::SearchStore));
    }
    if form.is_search() && !(from_member || from_lonlat) {
        return Err(errors::geo_exactly_one_from(&args[0]));
    }
    if form.is_search() && !(by_radius || by_box) {
        return Err(errors::geo_exactly_one_by(&args[0]));
    }
    if q.any && q.count == 0 {
        return Err(errors::GEO_ANY_WITHOUT_COUNT.into());
    }
    Ok(q)
}

/// One point inside the search area.
#[derive(Debug, Clone)]
struct Match {
    member: Bytes,
    score: f64,
    lon: f64,
    lat: f64,
    /// Metres.
    dist: f64,
}

/// The matches of a search, bounded in bytes.
#[derive(Debug)]
struct Matches {
    items: Vec<Match>,
    bytes: usize,
    /// Past this many bytes the search fails with `over`.
    budget: usize,
    over: fn() -> CommandError,
}

impl Matches {
    fn push(&mut self, m: Match, charge: usize) -> Result<(), CommandError> {
        self.bytes = self.bytes.saturating_add(charge);
        if self.bytes > self.budget {
            return Err((self.over)());
        }
        self.items.push(m);
        Ok(())
    }
}

fn search(ctx: &mut Ctx<'_, '_>, args: &[Bytes], form: Form) -> CommandResult {
    let src = &args[if form == Form::SearchStore { 2 } else { 1 }];
    let z = read_geo(ctx, src)?;
    let mut q = parse_query(ctx, args, form, z.as_ref())?;
    let Some(z) = z else {
        return match q.store.take() {
            Some(dst) => store(ctx, &dst, &[], &q),
            None => Ok(Reply::Array(Vec::new())),
        };
    };
    if q.count != 0 && q.sort == Sort::None && !q.any {
        q.sort = Sort::Asc;
    }
    let (Some((lon, lat)), Some(kind)) = (q.centre, q.kind) else {
        return Err("ERR internal error: search without a centre or a shape".into());
    };
    let shape = Shape { lon, lat, unit_m: q.unit_m, kind };
    let matches = collect(ctx, &z, &shape, &q)?;
    let returned = if q.count == 0 {
        matches.len()
    } else {
        matches.len().min(usize::try_from(q.count).unwrap_or(usize::MAX))
    };
    let mut matches = matches;
    sort_matches(&mut matches, returned, q.sort);
    matches.truncate(returned);
    match q.store.take() {
        None => Ok(search_reply(&matches, &q)),
        Some(dst) => store(ctx, &dst, &matches, &q),
    }
}

/// Scans the cells of the search area (Redis's `membersOfAllNeighbors`): each cell's score
/// range in score order, a cell equal to the one scanned before it skipped (huge radii make
/// neighbours coincide; Redis never compares with the centre, so neither does this), stopping
/// at COUNT matches with ANY.
fn collect(
    ctx: &mut Ctx<'_, '_>,
    z: &ZSet,
    shape: &Shape,
    q: &Query,
) -> Result<Vec<Match>, CommandError> {
    let limit = if q.any { q.count } else { 0 };
    let all_replied = q.store.is_none() && q.count == 0;
    let (budget, over): (usize, fn() -> CommandError) = {
        let room = ctx.output_room();
        if all_replied && room < GEO_MATCHES_BYTES_MAX {
            (room, || CommandError::OutputLimit)
        } else {
            (GEO_MATCHES_BYTES_MAX, || errors::geo_too_many_matches(GEO_MATCHES_BYTES_MAX))
        }
    };
    let mut found = Matches { items: Vec::new(), bytes: 0, budget, over };
    let full = |found: &Matches| limit != 0 && found.items.len() as u64 >= limit;
    let mut last: Option<geohash::Cell> = None;
    for (i, cell) in shape.cells().into_iter().enumerate() {
        let Some(cell) = cell else { continue };
        if i > 0 && last == Some(cell) {
            continue;
        }
        if full(&found) {
            break;
        }
        let (min, max) = cell.score_range();
        let range = ScoreRange { min, minex: false, max, maxex: true };
        z.by_score(ctx.tx, &range, false, 0, -1, |score, member| {
            if let Some((dist, lon, lat)) = shape.contains(score) {
                let member = Bytes::copy_from_slice(member);
                let charge = member.len()
                    + if all_replied { MATCH_REPLY_BYTES } else { MATCH_OVERHEAD_BYTES };
                found.push(Match { member, score, lon, lat, dist }, charge)?;
            }
            Ok(if full(&found) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })?;
        if i > 0 {
            last = Some(cell);
        }
    }
    Ok(found.items)
}

/// Orders the matches as Redis does: its stable sort when all are returned, its partial
/// quicksort when COUNT cuts the list (so equal distances fall where Redis puts them).
fn sort_matches(matches: &mut [Match], returned: usize, sort: Sort) {
    let asc = |a: &Match, b: &Match| {
        if a.dist > b.dist {
            Ordering::Greater
        } else if a.dist == b.dist {
            Ordering::Equal
        } else {
            Ordering::Less
        }
    };
    let cmp = |a: &Match, b: &Match| match sort {
        Sort::Desc => asc(a, b).reverse(),
        _ => asc(a, b),
    };
    if sort == Sort::None || returned == 0 {
        return;
    }
    if returned == matches.len() {
        order::merge_sort(matches, &cmp);
    } else {
        order::partial_sort(matches, 0, returned - 1, &cmp);
    }
}

fn search_reply(matches: &[Match], q: &Query) -> Reply {
    let options = q.with_dist || q.with_hash || q.with_coord;
    let items = matches
        .iter()
        .map(|m| {
            let member = Reply::Bulk(m.member.clone());
            if !options {
                return member;
            }
            let mut item = vec![member];
            if q.with_dist {
                item.push(distance_reply(m.dist / q.unit_m));
            }
            if q.with_hash {
                item.push(Reply::Integer(m.score as i64));
            }
            if q.with_coord {
                item.push(Reply::Array(vec![human_double(m.lon), human_double(m.lat)]));
            }
            Reply::Array(item)
        })
        .collect();
    Reply::Array(items)
}

/// GEOSEARCHSTORE / STORE / STOREDIST: the matches become the sorted set at `dst` (a new one,
/// replacing whatever was there, without expiry), scored by geohash or by distance in the
/// unit; no match deletes `dst`. Replies with the number of matches stored.
fn store(ctx: &mut Ctx<'_, '_>, dst: &Bytes, matches: &[Match], q: &Query) -> CommandResult {
    // A member found in two cells (only when neighbours coincide) is stored once; the reply
    // counts it twice, as Redis's does.
    let mut seen: HashSet<&[u8]> = HashSet::with_capacity(matches.len());
    let items: Vec<(Bytes, f64)> = matches
        .iter()
        .filter(|m| seen.insert(&m.member[..]))
        .map(|m| (m.member.clone(), if q.store_dist { m.dist / q.unit_m } else { m.score }))
        .collect();
    store_result(ctx, dst, items)?;
    Ok(Reply::Integer(i64::try_from(matches.len()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_parse_as_get_double_from_object() {
        let ok = |s: &str, v: f64| assert_eq!(parse_score(s.as_bytes()), Some(v), "{s}");
        let bad = |s: &str| assert_eq!(parse_score(s.as_bytes()), None, "{s}");
        ok("1", 1.0);
        ok("-1.5", -1.5);
        ok("+.5", 0.5);
        ok("5.", 5.0);
        ok("1e3", 1000.0);
        ok("1E+3", 1000.0);
        ok("-2.5e-3", -0.0025);
        ok("inf", f64::INFINITY);
        ok("-Infinity", f64::NEG_INFINITY);
        ok("0x10", 16.0);
        ok("0x1p-2", 0.25);
        ok("0X1.8P1", 3.0);
        ok("-0x.8", -0.5);
        ok("0e999999", 0.0);
        ok("4.9e-324", f64::from_bits(1));
        ok("13.361389", 13.361389);
        for s in [
            "",
            " 1",
            "1 ",
            "nan",
            "-nan",
            "1e",
            "1e+",
            "e5",
            ".",
            "1.2.3",
            "0x",
            "0xg",
            "0x1p",
            "1e400",
            "-1e400",
            "1e-400",
            "0x1p-1080",
            "0x1p1024",
            "1_0",
            "1,5",
            "1\0",
        ] {
            bad(s);
        }
    }

    #[test]
    fn hex_coordinates_round_to_nearest_even() {
        // 2^53 + 1 is halfway between two doubles: ties to the even one, 2^53.
        assert_eq!(parse_score(b"0x20000000000001"), Some(9007199254740992.0));
        assert_eq!(parse_score(b"0x20000000000003"), Some(9007199254740996.0));
        // A nonzero tail past the kept bits breaks the tie upwards.
        assert_eq!(
            parse_score(b"0x20000000000001000000000000000000000001"),
            parse_score(b"0x20000000000002000000000000000000000000")
        );
        // The largest double, and one just past it.
        assert_eq!(parse_score(b"0x1.fffffffffffffp1023"), Some(f64::MAX));
        assert_eq!(parse_score(b"0x1.fffffffffffff8p1023"), None);
        // Subnormals: the smallest, and half of it (a tie, to zero: rejected as underflow).
        assert_eq!(parse_score(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_score(b"0x1p-1075"), None);
        assert_eq!(parse_score(b"0x1.8p-1075"), Some(f64::from_bits(1)));
        assert_eq!(parse_score(b"0x3p-1075"), Some(f64::from_bits(2)));
    }

    #[test]
    fn is_word_stops_at_nul_like_strcasecmp() {
        assert!(is_word(b"WithDist", "withdist"));
        assert!(is_word(b"nx\0junk", "nx"));
        assert!(!is_word(b"nxx", "nx"));
    }

    #[test]
    fn human_double_and_distance_print_like_redis() {
        let text = |r: Reply| match r {
            Reply::DoubleText(t) | Reply::Bulk(t) => String::from_utf8(t.to_vec()).expect("ascii"),
            other => panic!("{other:?}"),
        };
        assert_eq!(text(human_double(13.361389338970184)), "13.36138933897018433");
        assert_eq!(text(human_double(180.0)), "180");
        assert_eq!(text(human_double(-1e-30)), "0");
        assert_eq!(text(distance_reply(166274.15156960033)), "166274.1516");
        assert_eq!(text(distance_reply(0.0)), "0.0000");
        assert_eq!(text(distance_reply(-f64::NAN)), "-nan");
    }

    #[test]
    fn matches_stop_at_the_budget_and_not_before() {
        let m = || Match {
            member: Bytes::from_static(b"abcd"),
            score: 0.0,
            lon: 0.0,
            lat: 0.0,
            dist: 0.0,
        };
        let mut found = Matches { items: Vec::new(), bytes: 0, budget: 10, over: || "over".into() };
        found.push(m(), 5).expect("5 of 10");
        found.push(m(), 5).expect("10 of 10: at the limit");
        let err = found.push(m(), 1).expect_err("11 of 10");
        assert!(matches!(err, CommandError::Reply(t) if t == "over"));
        assert_eq!(found.items.len(), 2);
    }
}
