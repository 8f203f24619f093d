//! The geospatial commands (commands/geo.rs): replies checked byte for byte against what
//! redis-server 7.0.15 answered to the same commands (recorded in both protocols), every error
//! text, the STORE forms, MULTI/WATCH, and a seeded model test of search completeness.
//! tests/compat/test_geo_differential.py compares with a live redis-server at scale.

use crate::{TestServer, fails, q};
use rand::Rng;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// A raw connection that returns each reply's exact bytes.
struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    fn open(server: &TestServer, resp3: bool) -> Wire {
        let mut wire = Wire { stream: server.raw(), buf: Vec::new() };
        if resp3 {
            let hello = wire.call(&["HELLO", "3"]);
            assert!(hello.starts_with(b"%"), "HELLO 3: {}", String::from_utf8_lossy(&hello));
        }
        wire
    }

    fn call(&mut self, args: &[&str]) -> Vec<u8> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.stream.write_all(&req).expect("write");
        let mut chunk = [0u8; 1 << 16];
        loop {
            if let Some((_, used)) = lode_resp::decode_reply(&self.buf).expect("well-formed reply")
            {
                return self.buf.drain(..used).collect();
            }
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// The places the recorded replies were taken on.
const SETUP: &[&[&str]] = &[
    &[
        "GEOADD",
        "Sicily",
        "13.361389",
        "38.115556",
        "Palermo",
        "15.087269",
        "37.502669",
        "Catania",
        "13.583333",
        "37.316667",
        "Agrigento",
    ],
    &[
        "GEOADD",
        "Sicily",
        "14",
        "37",
        "t1",
        "14",
        "37",
        "t3",
        "14",
        "37",
        "t2",
        "14.0000001",
        "37",
        "t0",
        "-179.9",
        "85",
        "north",
        "180",
        "-85.05112878",
        "south",
    ],
    &[
        "GEOADD", "Sicily", "14.5", "37.5", "g0", "14.5", "37.5", "g1", "14.5", "37.5", "g2",
        "14.5", "37.5", "g3", "14.5", "37.5", "g4", "14.5", "37.5", "g5", "14.5", "37.5", "g6",
        "14.5", "37.5", "g7", "14.5", "37.5", "g8", "14.5", "37.5", "g9", "14.6", "37.5", "h0",
        "14.6", "37.5", "h1", "14.6", "37.5", "h2", "14.6", "37.5", "h3",
    ],
];

/// (command, RESP2 reply, RESP3 reply) as redis-server 7.0.15 gave them after SETUP.
#[allow(clippy::type_complexity)]
const RECORDED: &[(&[&str], &[u8], &[u8])] = &[
        (
            &["GEOPOS", "Sicily", "Palermo", "nonex", "south"],
            b"*3\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n*2\r\n$3\r\n180\r\n$21\r\n-85.05112751263942528\r\n",
            b"*3\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n*2\r\n,180\r\n,-85.05112751263942528\r\n",
        ),
        (
            &["GEOPOS", "nokey", "a"],
            b"*1\r\n*-1\r\n",
            b"*1\r\n_\r\n",
        ),
        (
            &["GEODIST", "Sicily", "Palermo", "Catania", "km"],
            b"$8\r\n166.2742\r\n",
            b"$8\r\n166.2742\r\n",
        ),
        (
            &["GEODIST", "Sicily", "Palermo", "Catania"],
            b"$11\r\n166274.1516\r\n",
            b"$11\r\n166274.1516\r\n",
        ),
        (
            &["GEODIST", "Sicily", "Palermo", "Catania", "MI"],
            b"$8\r\n103.3182\r\n",
            b"$8\r\n103.3182\r\n",
        ),
        (
            &["GEODIST", "Sicily", "Palermo", "Catania", "ft"],
            b"$11\r\n545518.8700\r\n",
            b"$11\r\n545518.8700\r\n",
        ),
        (
            &["GEODIST", "Sicily", "Palermo", "nonex"],
            b"$-1\r\n",
            b"_\r\n",
        ),
        (
            &["GEOHASH", "Sicily", "Palermo", "Catania", "nonex", "north", "south"],
            b"*5\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n$11\r\nbp05d3bbfh0\r\n$11\r\n00bh0hbj200\r\n",
            b"*5\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n_\r\n$11\r\nbp05d3bbfh0\r\n$11\r\n00bh0hbj200\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"],
            b"*21\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*4\r\n$2\r\nh0\r\n$7\r\n65.9316\r\n:3479420744444278\r\n*2\r\n$20\r\n14.60000127553939819\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\nh1\r\n$7\r\n65.9316\r\n:3479420744444278\r\n*2\r\n$20\r\n14.60000127553939819\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\nh2\r\n$7\r\n65.9316\r\n:3479420744444278\r\n*2\r\n$20\r\n14.60000127553939819\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\nh3\r\n$7\r\n65.9316\r\n:3479420744444278\r\n*2\r\n$20\r\n14.60000127553939819\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng0\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng1\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng2\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng3\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng4\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng5\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng6\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng7\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng8\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\ng9\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*4\r\n$2\r\nt0\r\n$7\r\n88.8287\r\n:3476101302610854\r\n*2\r\n$20\r\n14.00000184774398804\r\n$20\r\n37.00000026605963654\r\n*4\r\n$2\r\nt1\r\n$7\r\n88.8287\r\n:3476101302610854\r\n*2\r\n$20\r\n14.00000184774398804\r\n$20\r\n37.00000026605963654\r\n*4\r\n$2\r\nt2\r\n$7\r\n88.8287\r\n:3476101302610854\r\n*2\r\n$20\r\n14.00000184774398804\r\n$20\r\n37.00000026605963654\r\n*4\r\n$2\r\nt3\r\n$7\r\n88.8287\r\n:3476101302610854\r\n*2\r\n$20\r\n14.00000184774398804\r\n$20\r\n37.00000026605963654\r\n*4\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n:3479030013248308\r\n*2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n",
            b"*21\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n*4\r\n$2\r\nh0\r\n$7\r\n65.9316\r\n:3479420744444278\r\n*2\r\n,14.60000127553939819\r\n,37.4999993619508345\r\n*4\r\n$2\r\nh1\r\n$7\r\n65.9316\r\n:3479420744444278\r\n*2\r\n,14.60000127553939819\r\n,37.4999993619508345\r\n*4\r\n$2\r\nh2\r\n$7\r\n65.9316\r\n:3479420744444278\r\n*2\r\n,14.60000127553939819\r\n,37.4999993619508345\r\n*4\r\n$2\r\nh3\r\n$7\r\n65.9316\r\n:3479420744444278\r\n*2\r\n,14.60000127553939819\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng0\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng1\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng2\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng3\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng4\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng5\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng6\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng7\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng8\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\ng9\r\n$7\r\n71.0807\r\n:3479418773013342\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*4\r\n$2\r\nt0\r\n$7\r\n88.8287\r\n:3476101302610854\r\n*2\r\n,14.00000184774398804\r\n,37.00000026605963654\r\n*4\r\n$2\r\nt1\r\n$7\r\n88.8287\r\n:3476101302610854\r\n*2\r\n,14.00000184774398804\r\n,37.00000026605963654\r\n*4\r\n$2\r\nt2\r\n$7\r\n88.8287\r\n:3476101302610854\r\n*2\r\n,14.00000184774398804\r\n,37.00000026605963654\r\n*4\r\n$2\r\nt3\r\n$7\r\n88.8287\r\n:3476101302610854\r\n*2\r\n,14.00000184774398804\r\n,37.00000026605963654\r\n*4\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n:3479030013248308\r\n*2\r\n,13.5833314061164856\r\n,37.31666804993816555\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "DESC", "COUNT", "3", "WITHDIST"],
            b"*3\r\n*2\r\n$7\r\nCatania\r\n$8\r\n166.2742\r\n*2\r\n$2\r\nt3\r\n$8\r\n136.2572\r\n*2\r\n$2\r\nt2\r\n$8\r\n136.2572\r\n",
            b"*3\r\n*2\r\n$7\r\nCatania\r\n$8\r\n166.2742\r\n*2\r\n$2\r\nt3\r\n$8\r\n136.2572\r\n*2\r\n$2\r\nt2\r\n$8\r\n136.2572\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "14", "37", "BYRADIUS", "100", "km", "COUNT", "2", "ANY"],
            b"*2\r\n$2\r\nt0\r\n$2\r\nt1\r\n",
            b"*2\r\n$2\r\nt0\r\n$2\r\nt1\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "14", "37", "BYRADIUS", "100", "km"],
            b"*19\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$9\r\nAgrigento\r\n$2\r\ng0\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n$2\r\ng9\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n",
            b"*19\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$9\r\nAgrigento\r\n$2\r\ng0\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n$2\r\ng9\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n",
        ),
        (
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "ASC"],
            b"*21\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$2\r\nh0\r\n$7\r\n65.9316\r\n*2\r\n$2\r\nh1\r\n$7\r\n65.9316\r\n*2\r\n$2\r\nh2\r\n$7\r\n65.9316\r\n*2\r\n$2\r\nh3\r\n$7\r\n65.9316\r\n*2\r\n$2\r\ng0\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng1\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng2\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng3\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng4\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng5\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng6\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng7\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng8\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng9\r\n$7\r\n71.0807\r\n*2\r\n$2\r\nt0\r\n$7\r\n88.8287\r\n*2\r\n$2\r\nt1\r\n$7\r\n88.8287\r\n*2\r\n$2\r\nt2\r\n$7\r\n88.8287\r\n*2\r\n$2\r\nt3\r\n$7\r\n88.8287\r\n*2\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n",
            b"*21\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$2\r\nh0\r\n$7\r\n65.9316\r\n*2\r\n$2\r\nh1\r\n$7\r\n65.9316\r\n*2\r\n$2\r\nh2\r\n$7\r\n65.9316\r\n*2\r\n$2\r\nh3\r\n$7\r\n65.9316\r\n*2\r\n$2\r\ng0\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng1\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng2\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng3\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng4\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng5\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng6\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng7\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng8\r\n$7\r\n71.0807\r\n*2\r\n$2\r\ng9\r\n$7\r\n71.0807\r\n*2\r\n$2\r\nt0\r\n$7\r\n88.8287\r\n*2\r\n$2\r\nt1\r\n$7\r\n88.8287\r\n*2\r\n$2\r\nt2\r\n$7\r\n88.8287\r\n*2\r\n$2\r\nt3\r\n$7\r\n88.8287\r\n*2\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n",
        ),
        (
            &["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHHASH", "DESC", "COUNT", "2"],
            b"*2\r\n*2\r\n$7\r\nPalermo\r\n:3479099956230698\r\n*2\r\n$9\r\nAgrigento\r\n:3479030013248308\r\n",
            b"*2\r\n*2\r\n$7\r\nPalermo\r\n:3479099956230698\r\n*2\r\n$9\r\nAgrigento\r\n:3479030013248308\r\n",
        ),
        (
            &["GEORADIUSBYMEMBER_RO", "Sicily", "Agrigento", "100", "km", "ASC"],
            b"*20\r\n$9\r\nAgrigento\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$2\r\ng0\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n$2\r\ng9\r\n$7\r\nPalermo\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n",
            b"*20\r\n$9\r\nAgrigento\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$2\r\ng0\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n$2\r\ng9\r\n$7\r\nPalermo\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n",
        ),
        (
            &["GEORADIUSBYMEMBER", "Sicily", "Agrigento", "100", "km", "WITHCOORD"],
            b"*20\r\n*2\r\n$9\r\nAgrigento\r\n*2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n*2\r\n$7\r\nPalermo\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*2\r\n$2\r\nt0\r\n*2\r\n$20\r\n14.00000184774398804\r\n$20\r\n37.00000026605963654\r\n*2\r\n$2\r\nt1\r\n*2\r\n$20\r\n14.00000184774398804\r\n$20\r\n37.00000026605963654\r\n*2\r\n$2\r\nt2\r\n*2\r\n$20\r\n14.00000184774398804\r\n$20\r\n37.00000026605963654\r\n*2\r\n$2\r\nt3\r\n*2\r\n$20\r\n14.00000184774398804\r\n$20\r\n37.00000026605963654\r\n*2\r\n$2\r\ng0\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\ng1\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\ng2\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\ng3\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\ng4\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\ng5\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\ng6\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\ng7\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\ng8\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\ng9\r\n*2\r\n$20\r\n14.49999779462814331\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\nh0\r\n*2\r\n$20\r\n14.60000127553939819\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\nh1\r\n*2\r\n$20\r\n14.60000127553939819\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\nh2\r\n*2\r\n$20\r\n14.60000127553939819\r\n$19\r\n37.4999993619508345\r\n*2\r\n$2\r\nh3\r\n*2\r\n$20\r\n14.60000127553939819\r\n$19\r\n37.4999993619508345\r\n",
            b"*20\r\n*2\r\n$9\r\nAgrigento\r\n*2\r\n,13.5833314061164856\r\n,37.31666804993816555\r\n*2\r\n$7\r\nPalermo\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n*2\r\n$2\r\nt0\r\n*2\r\n,14.00000184774398804\r\n,37.00000026605963654\r\n*2\r\n$2\r\nt1\r\n*2\r\n,14.00000184774398804\r\n,37.00000026605963654\r\n*2\r\n$2\r\nt2\r\n*2\r\n,14.00000184774398804\r\n,37.00000026605963654\r\n*2\r\n$2\r\nt3\r\n*2\r\n,14.00000184774398804\r\n,37.00000026605963654\r\n*2\r\n$2\r\ng0\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\ng1\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\ng2\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\ng3\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\ng4\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\ng5\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\ng6\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\ng7\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\ng8\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\ng9\r\n*2\r\n,14.49999779462814331\r\n,37.4999993619508345\r\n*2\r\n$2\r\nh0\r\n*2\r\n,14.60000127553939819\r\n,37.4999993619508345\r\n*2\r\n$2\r\nh1\r\n*2\r\n,14.60000127553939819\r\n,37.4999993619508345\r\n*2\r\n$2\r\nh2\r\n*2\r\n,14.60000127553939819\r\n,37.4999993619508345\r\n*2\r\n$2\r\nh3\r\n*2\r\n,14.60000127553939819\r\n,37.4999993619508345\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "14", "37", "BYRADIUS", "1", "km", "ASC", "COUNT", "2", "WITHDIST"],
            b"*2\r\n*2\r\n$2\r\nt0\r\n$6\r\n0.0002\r\n*2\r\n$2\r\nt1\r\n$6\r\n0.0002\r\n",
            b"*2\r\n*2\r\n$2\r\nt0\r\n$6\r\n0.0002\r\n*2\r\n$2\r\nt1\r\n$6\r\n0.0002\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "14", "37", "BYRADIUS", "1", "km", "DESC"],
            b"*4\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n",
            b"*4\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km", "ASC", "COUNT", "3"],
            b"*3\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n",
            b"*3\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km"],
            b"*22\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$9\r\nAgrigento\r\n$7\r\nPalermo\r\n$2\r\ng0\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n$2\r\ng9\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n$7\r\nCatania\r\n$5\r\nnorth\r\n",
            b"*22\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$9\r\nAgrigento\r\n$7\r\nPalermo\r\n$2\r\ng0\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n$2\r\ng9\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n$7\r\nCatania\r\n$5\r\nnorth\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "180", "85", "BYBOX", "3000", "3000", "km", "WITHCOORD"],
            b"*0\r\n",
            b"*0\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"],
            b"*0\r\n",
            b"*0\r\n",
        ),
        (
            &["GEOSEARCH", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"],
            b"*0\r\n",
            b"*0\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "14.55", "37.5", "BYRADIUS", "50", "km", "ASC", "COUNT", "4"],
            b"*4\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n",
            b"*4\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "14.55", "37.5", "BYRADIUS", "50", "km", "ASC", "COUNT", "9"],
            b"*9\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n",
            b"*9\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "14.55", "37.5", "BYRADIUS", "50", "km", "DESC", "COUNT", "5"],
            b"*5\r\n$7\r\nCatania\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n",
            b"*5\r\n$7\r\nCatania\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "14.55", "37.5", "BYRADIUS", "50", "km", "ASC"],
            b"*15\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n$2\r\ng0\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n$2\r\ng9\r\n$7\r\nCatania\r\n",
            b"*15\r\n$2\r\nh0\r\n$2\r\nh1\r\n$2\r\nh2\r\n$2\r\nh3\r\n$2\r\ng0\r\n$2\r\ng1\r\n$2\r\ng2\r\n$2\r\ng3\r\n$2\r\ng4\r\n$2\r\ng5\r\n$2\r\ng6\r\n$2\r\ng7\r\n$2\r\ng8\r\n$2\r\ng9\r\n$7\r\nCatania\r\n",
        ),
];

fn load(server: &TestServer) {
    let mut wire = Wire::open(server, false);
    for command in SETUP {
        let reply = wire.call(command);
        assert!(reply.starts_with(b":"), "{command:?}: {}", String::from_utf8_lossy(&reply));
    }
}

#[test]
fn replies_are_redis_bytes_in_both_protocols() {
    let server = TestServer::start();
    load(&server);
    for resp3 in [false, true] {
        let mut wire = Wire::open(&server, resp3);
        for (command, resp2_bytes, resp3_bytes) in RECORDED {
            let want = if resp3 { resp3_bytes } else { resp2_bytes };
            let got = wire.call(command);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(want),
                "{command:?} (RESP{})",
                if resp3 { 3 } else { 2 }
            );
        }
    }
}

#[test]
fn geoadd_options_count_like_zadd() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "g", "1", "2", "a", "3", "4", "b"]), 2);
    assert_eq!(q::<String>(&mut con, &["TYPE", "g"]), "zset");
    // The same position again: nothing changes, even with CH.
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "g", "CH", "1", "2", "a"]), 0);
    // A move: not an addition; CH counts it.
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "g", "1.5", "2", "a"]), 0);
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "g", "ch", "1", "2", "a", "5", "6", "c"]), 2);
    // NX never moves, XX never adds.
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "g", "NX", "CH", "9", "9", "a", "7", "8", "d"]), 1);
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "g", "XX", "CH", "9", "9", "a", "7", "8", "e"]), 1);
    // GEOHASH as redis-server printed it for the moved member.
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["GEOHASH", "g", "a", "e"]),
        [Some("s1w7hy3sg10".to_string()), None]
    );
    // XX on a missing key creates nothing.
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "none", "XX", "1", "2", "a"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "none"]), 0);
    // Repeated members in one command: the last position wins, counted once.
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "r", "1", "1", "x", "2", "2", "x"]), 1);
    let pos: Vec<Option<(String, String)>> = q(&mut con, &["GEOPOS", "r", "x"]);
    assert_eq!(pos[0].as_ref().map(|p| p.0.starts_with("2.00000")), Some(true));
    // Options are words up to a NUL, as C's strcasecmp reads them.
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "g", "nx\0junk", "1", "1", "f"]), 1);
}

#[test]
fn geoadd_errors_in_redis_order() {
    let server = TestServer::start();
    let mut con = server.client();
    let cases: &[(&[&str], &str)] = &[
        (&["GEOADD", "g", "1", "2"], "ERR wrong number of arguments for 'geoadd' command"),
        (&["GEOADD", "g", "nx", "xx", "1", "2", "m"], "ERR syntax error"),
        (&["GEOADD", "g", "nx", "ch", "xx"], "ERR syntax error"),
        (&["GEOADD", "g", "ch", "ch", "ch"], "ERR syntax error"),
        (&["GEOADD", "g", "1", "2", "a", "3"], "ERR syntax error"),
        (&["GEOADD", "g", "GT", "1", "2"], "ERR value is not a valid float"),
        (&["GEOADD", "g", "abc", "0", "x"], "ERR value is not a valid float"),
        (&["GEOADD", "g", "1e400", "0", "x"], "ERR value is not a valid float"),
        (&["GEOADD", "g", "-1e-400", "0", "x"], "ERR value is not a valid float"),
        (&["GEOADD", "g", "1", "nan", "x"], "ERR value is not a valid float"),
        (
            &["GEOADD", "g", "180.0000001", "0", "x"],
            "ERR invalid longitude,latitude pair 180.000000,0.000000",
        ),
        (
            &["GEOADD", "g", "10", "85.05112879", "x"],
            "ERR invalid longitude,latitude pair 10.000000,85.051129",
        ),
        (&["GEOADD", "g", "inf", "0", "x"], "ERR invalid longitude,latitude pair inf,0.000000"),
        (&["GEOADD", "g", "1", "2", "ok", "1e999", "2", "n"], "ERR value is not a valid float"),
    ];
    for (command, error) in cases {
        assert_eq!(&fails(&mut con, command), error, "{command:?}");
    }
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "g"]), 0, "a failed GEOADD writes nothing");
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "g", "0x10", "-0x1p2", "hex"]), 1);
    // Coordinates are checked before the key's type.
    assert_eq!(q::<String>(&mut con, &["SET", "s", "v"]), "OK");
    assert_eq!(
        fails(&mut con, &["GEOADD", "s", "1000", "2", "x"]),
        "ERR invalid longitude,latitude pair 1000.000000,2.000000"
    );
    assert_eq!(fails(&mut con, &["GEOADD", "s", "10", "2", "x"]), WRONGTYPE);
    // A member too long for one element key (Lode's limit) fails before anything is written.
    let long = "m".repeat(lode_server::ELEMENT_KEY_BYTES_MAX);
    let err = fails(&mut con, &["GEOADD", "k", "1", "1", "fine", "1", "1", &long]);
    assert!(err.starts_with("ERR element too large"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "k"]), 0);
    let at_limit = "m".repeat(lode_server::ELEMENT_KEY_BYTES_MAX - 1);
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "k", "1", "1", &at_limit]), 1);
}

#[test]
fn every_command_refuses_another_type() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["SET", "s", "v"]), "OK");
    let commands: &[&[&str]] = &[
        &["GEOPOS", "s", "m"],
        &["GEOHASH", "s", "m"],
        &["GEODIST", "s", "m", "n"],
        &["GEOSEARCH", "s", "FROMLONLAT", "500", "0", "BYRADIUS", "1", "km"],
        &["GEOSEARCHSTORE", "d", "s", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
        &["GEORADIUS", "s", "500", "0", "1", "km"],
        &["GEORADIUS_RO", "s", "0", "0", "1", "km"],
        &["GEORADIUSBYMEMBER", "s", "m", "1", "km"],
        &["GEORADIUSBYMEMBER_RO", "s", "m", "1", "km"],
    ];
    for command in commands {
        assert_eq!(fails(&mut con, command), WRONGTYPE, "{command:?}");
    }
    // GEODIST checks its unit before the key.
    assert_eq!(
        fails(&mut con, &["GEODIST", "s", "m", "n", "parsec"]),
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    );
}

#[test]
fn search_errors_are_redis_texts() {
    let server = TestServer::start();
    load(&server);
    let mut con = server.client();
    let unit = "ERR unsupported unit provided. please use M, KM, FT, MI";
    let cases: &[(&[&str], &str)] = &[
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "-1", "km"],
            "ERR radius cannot be negative",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "x", "km"],
            "ERR need numeric radius",
        ),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "yd"], unit),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "x", "1", "km"],
            "ERR need numeric width",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "y", "km"],
            "ERR need numeric height",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "-1", "1", "km"],
            "ERR height or width cannot be negative",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYBOX", "1", "1", "km"],
            "ERR could not decode requested zset member",
        ),
        (
            &["geoSearch", "Sicily", "BYBOX", "1", "1", "km"],
            "ERR wrong number of arguments for 'geosearch' command",
        ),
        (
            &["geoSearch", "Sicily", "BYBOX", "1", "1", "km", "ASC"],
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geoSearch",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "ASC", "WITHDIST", "WITHHASH"],
            "ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "km", "ANY"],
            "ERR the ANY argument requires COUNT argument",
        ),
        (
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "1",
                "1",
                "km",
                "COUNT",
                "0",
            ],
            "ERR COUNT must be > 0",
        ),
        (
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "1",
                "1",
                "km",
                "COUNT",
                "-1",
            ],
            "ERR COUNT must be > 0",
        ),
        (
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "1",
                "1",
                "km",
                "COUNT",
                "x",
            ],
            "ERR value is not an integer or out of range",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "km", "COUNT"],
            "ERR syntax error",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "km", "STOREDIST"],
            "ERR syntax error",
        ),
        (
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "1",
                "1",
                "km",
                "STORE",
                "d",
            ],
            "ERR syntax error",
        ),
        (
            &[
                "GEOSEARCHSTORE",
                "d",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "1",
                "1",
                "km",
                "WITHDIST",
            ],
            "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        (
            &["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "STORE", "x"],
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        (
            &["GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHHASH", "STOREDIST", "x"],
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        (&["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "x"], "ERR syntax error"),
        (&["GEORADIUS", "Sicily", "15", "37", "200", "km", "FROMMEMBER", "x"], "ERR syntax error"),
        (
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "FROMLONLAT",
                "1",
                "2",
                "BYBOX",
                "1",
                "1",
                "km",
            ],
            "ERR syntax error",
        ),
        (
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMLONLAT",
                "1",
                "2",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "1",
                "1",
                "km",
            ],
            "ERR syntax error",
        ),
        (
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMLONLAT",
                "1",
                "2",
                "BYRADIUS",
                "1",
                "km",
                "BYBOX",
                "1",
                "1",
                "km",
            ],
            "ERR syntax error",
        ),
        (
            &["GEOSEARCH", "Sicily", "FROMLONLAT", "190", "2", "BYRADIUS", "1", "km"],
            "ERR invalid longitude,latitude pair 190.000000,2.000000",
        ),
        (&["GEORADIUSBYMEMBER", "Sicily", "Palermo", "abc", "km"], "ERR need numeric radius"),
        (
            &["GEORADIUSBYMEMBER", "Sicily", "nope", "abc", "km"],
            "ERR could not decode requested zset member",
        ),
        (&["GEORADIUS", "nokey", "1", "2", "abc", "km"], "ERR need numeric radius"),
        (&["GEODIST", "Sicily", "Palermo", "Catania", "yd"], unit),
        (&["GEODIST", "Sicily", "Palermo", "Catania", "km", "x"], "ERR syntax error"),
        // The first bad argument is the one reported, in argument order.
        (
            &["GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", "x", "km"],
            "ERR could not decode requested zset member",
        ),
        (
            &["GEOSEARCH", "Sicily", "BYRADIUS", "x", "km", "FROMMEMBER", "nope"],
            "ERR need numeric radius",
        ),
    ];
    for (command, error) in cases {
        assert_eq!(&fails(&mut con, command), error, "{command:?}");
    }
    // Without the key, GEORADIUSBYMEMBER reads neither member nor radius; a FROMMEMBER
    // member is not looked up either.
    assert_eq!(
        q::<Vec<String>>(&mut con, &["GEORADIUSBYMEMBER", "nokey", "Palermo", "abc", "km"]),
        Vec::<String>::new()
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut con,
            &["GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn store_forms_replace_the_destination_or_delete_it() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut wire = Wire::open(&server, false);
    assert_eq!(
        q::<i64>(
            &mut con,
            &[
                "GEOADD",
                "Sicily",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania"
            ]
        ),
        2
    );
    assert_eq!(
        q::<i64>(
            &mut con,
            &[
                "GEOSEARCHSTORE",
                "dst",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "STOREDIST"
            ]
        ),
        2
    );
    assert_eq!(q::<String>(&mut con, &["TYPE", "dst"]), "zset");
    // Scores are the distances in km (56.44..., 190.44...): what Redis's GEOPOS decodes from them.
    assert_eq!(
        String::from_utf8_lossy(&wire.call(&["GEOPOS", "dst", "Palermo", "Catania"])),
        "*2\r\n*2\r\n$22\r\n-179.99991685152053833\r\n$21\r\n-85.05111230431245417\r\n*2\r\n$21\r\n-179.9999651312828064\r\n$21\r\n-85.05111737375477787\r\n"
    );
    // STORE keeps the geohash scores: the positions are the source's.
    assert_eq!(
        q::<i64>(&mut con, &["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst2"]),
        2
    );
    let src: Vec<Option<(String, String)>> =
        q(&mut con, &["GEOPOS", "Sicily", "Palermo", "Catania"]);
    let dst: Vec<Option<(String, String)>> = q(&mut con, &["GEOPOS", "dst2", "Palermo", "Catania"]);
    assert_eq!(src, dst);
    // A string with a TTL is replaced by a sorted set without one.
    assert_eq!(q::<String>(&mut con, &["SET", "str", "x", "EX", "100"]), "OK");
    assert_eq!(
        q::<i64>(
            &mut con,
            &["GEOSEARCHSTORE", "str", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "10", "km"]
        ),
        1
    );
    assert_eq!(q::<String>(&mut con, &["TYPE", "str"]), "zset");
    assert_eq!(q::<i64>(&mut con, &["TTL", "str"]), -1);
    // No match: the destination is deleted.
    assert_eq!(
        q::<i64>(
            &mut con,
            &["GEOSEARCHSTORE", "str", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "10", "km"]
        ),
        0
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "str"]), 0);
    assert_eq!(q::<String>(&mut con, &["SET", "str", "x"]), "OK");
    assert_eq!(
        q::<i64>(
            &mut con,
            &["GEOSEARCHSTORE", "str", "nokey", "FROMMEMBER", "x", "BYRADIUS", "10", "km"]
        ),
        0
    );
    assert_eq!(
        q::<i64>(&mut con, &["EXISTS", "str"]),
        0,
        "a missing source deletes the destination too"
    );
    // The source as its own destination.
    assert_eq!(
        q::<i64>(
            &mut con,
            &[
                "GEOSEARCHSTORE",
                "Sicily",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "10",
                "km"
            ]
        ),
        1
    );
    let left: Vec<Option<(String, String)>> =
        q(&mut con, &["GEOPOS", "Sicily", "Palermo", "Catania"]);
    assert_eq!(left, vec![src[0].clone(), None]);
    assert_eq!(
        q::<i64>(
            &mut con,
            &["GEORADIUSBYMEMBER", "Sicily", "Palermo", "100", "km", "STOREDIST", "dst3"]
        ),
        1
    );
    assert_eq!(q::<Vec<String>>(&mut con, &["GEOHASH", "dst3", "Palermo"]), ["00bh0hbj200"]);
}

#[test]
fn multi_runs_geo_commands_and_watch_sees_only_real_changes() {
    let server = TestServer::start();
    let mut a = server.client();
    let mut b = server.client();
    assert_eq!(q::<i64>(&mut a, &["GEOADD", "g", "13.361389", "38.115556", "Palermo"]), 1);
    assert_eq!(q::<String>(&mut a, &["MULTI"]), "OK");
    assert_eq!(
        q::<String>(&mut a, &["GEOADD", "g", "15.087269", "37.502669", "Catania"]),
        "QUEUED"
    );
    assert_eq!(q::<String>(&mut a, &["GEODIST", "g", "Palermo", "Catania", "km"]), "QUEUED");
    assert_eq!(
        q::<String>(
            &mut a,
            &["GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "ASC"]
        ),
        "QUEUED"
    );
    let (added, dist, found): (i64, String, Vec<String>) = q(&mut a, &["EXEC"]);
    assert_eq!(
        (added, dist.as_str(), found),
        (1, "166.2742", vec!["Palermo".to_string(), "Catania".into()])
    );
    // A GEOADD that changes nothing leaves a WATCH intact; one that moves a member breaks it.
    assert_eq!(q::<String>(&mut a, &["WATCH", "g"]), "OK");
    assert_eq!(q::<i64>(&mut b, &["GEOADD", "g", "XX", "1", "1", "nobody"]), 0);
    assert_eq!(q::<i64>(&mut b, &["GEOADD", "g", "13.361389", "38.115556", "Palermo"]), 0);
    assert_eq!(q::<String>(&mut a, &["MULTI"]), "OK");
    assert_eq!(q::<String>(&mut a, &["GEOPOS", "g", "Palermo"]), "QUEUED");
    assert_eq!(q::<redis::Value>(&mut a, &["EXEC"]).as_sequence().map(<[_]>::len), Some(1));
    assert_eq!(q::<String>(&mut a, &["WATCH", "g"]), "OK");
    assert_eq!(q::<i64>(&mut b, &["GEOADD", "g", "CH", "13", "38", "Palermo"]), 1);
    assert_eq!(q::<String>(&mut a, &["MULTI"]), "OK");
    assert_eq!(q::<String>(&mut a, &["GEOPOS", "g", "Palermo"]), "QUEUED");
    assert_eq!(q::<redis::Value>(&mut a, &["EXEC"]), redis::Value::Nil);
}

fn info_stat(con: &mut redis::Connection, field: &str) -> u64 {
    let info: String = q(con, &["INFO", "stats"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no {field}"))
}

#[test]
fn reads_count_keyspace_hits_and_misses() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "g", "1", "2", "a"]), 1);
    let (hits, misses) =
        (info_stat(&mut con, "keyspace_hits"), info_stat(&mut con, "keyspace_misses"));
    let _: redis::Value = q(&mut con, &["GEOPOS", "g", "a", "zz"]);
    let _: redis::Value = q(&mut con, &["GEOHASH", "nokey", "a"]);
    let _: redis::Value = q(&mut con, &["GEODIST", "g", "a", "a"]);
    let _: redis::Value =
        q(&mut con, &["GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "m"]);
    let _: redis::Value = q(&mut con, &["GEORADIUS", "nokey", "1", "2", "1", "m"]);
    assert_eq!(info_stat(&mut con, "keyspace_hits") - hits, 3);
    assert_eq!(info_stat(&mut con, "keyspace_misses") - misses, 2);
}

/// Haversine as Redis computes it, with its same-longitude shortcut.
fn model_distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    const R: f64 = 6372797.560856;
    let d = std::f64::consts::PI / 180.0;
    let v = ((lon2 * d - lon1 * d) / 2.0).sin();
    if v == 0.0 {
        return R * (lat2 * d - lat1 * d).abs();
    }
    let u = ((lat2 * d - lat1 * d) / 2.0).sin();
    2.0 * R * (u * u + (lat1 * d).cos() * (lat2 * d).cos() * v * v).sqrt().asin()
}

/// A seeded stream of GEOADDs (with NX/XX/CH) and searches against a model: a map of member
/// to position. Every member's GEOPOS is within its cell of the position added; a radius or
/// box search returns exactly the members the brute-force model finds in the area (points
/// within a millionth of a metre of the edge are not judged), sorted by distance when asked.
#[test]
fn random_geo_commands_agree_with_a_model() {
    let seed = lode_testkit::Seed::new("random_geo_commands_agree_with_a_model");
    let mut rng = seed.rng(0);
    let server = TestServer::start();
    let mut con = server.client();
    let mut model: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    // Cell size of the 52-bit geohash, degrees: how far GEOPOS may be from the input.
    let (cell_lon, cell_lat) = (360.0 / f64::from(1 << 26), 170.10225756 / f64::from(1 << 26));
    let region = |rng: &mut rand::rngs::StdRng| {
        (rng.random_range(-20.0..20.0), rng.random_range(30.0..60.0))
    };
    for step in 0..lode_testkit::iterations(300) {
        // GEOADD with random flags.
        let (nx, xx, ch) = match rng.random_range(0..4) {
            0 => (true, false, rng.random_bool(0.5)),
            1 => (false, true, rng.random_bool(0.5)),
            _ => (false, false, rng.random_bool(0.5)),
        };
        let mut args: Vec<String> = vec!["GEOADD".into(), "g".into()];
        for (on, word) in [(nx, "NX"), (xx, "XX"), (ch, "CH")] {
            if on {
                args.push(word.into());
            }
        }
        let mut want = 0i64;
        let mut staged = model.clone();
        for _ in 0..rng.random_range(1..20) {
            let member = format!("m{}", rng.random_range(0..400));
            let (lon, lat) = region(&mut rng);
            args.extend([format!("{lon}"), format!("{lat}"), member.clone()]);
            // Random positions never repeat, so every re-add moves the member.
            match staged.get(&member) {
                Some(_) if nx => {}
                Some(_) => {
                    want += i64::from(ch);
                    staged.insert(member, (lon, lat));
                }
                None if xx => {}
                None => {
                    want += 1;
                    staged.insert(member, (lon, lat));
                }
            }
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(q::<i64>(&mut con, &refs), want, "step {step}: {args:?}");
        model = staged;
        if step % 10 != 9 {
            continue;
        }
        // Positions: each decoded position is within its cell of the one added.
        let names: Vec<&str> = model.keys().map(String::as_str).collect();
        let mut cmd = vec!["GEOPOS", "g"];
        cmd.extend(&names);
        let positions: Vec<Option<(f64, f64)>> = q(&mut con, &cmd);
        let mut decoded = BTreeMap::new();
        for (name, pos) in names.iter().zip(positions) {
            let (lon, lat) = pos.expect("every model member has a position");
            let (mlon, mlat) = model[*name];
            assert!(
                (lon - mlon).abs() <= cell_lon && (lat - mlat).abs() <= cell_lat,
                "{name}: {lon},{lat} vs {mlon},{mlat}"
            );
            decoded.insert(name.to_string(), (lon, lat));
        }
        // Searches around a random centre.
        for _ in 0..5 {
            let (clon, clat) = region(&mut rng);
            let by_box = rng.random_bool(0.4);
            let (w, h, r) = (
                rng.random_range(1.0..3000.0),
                rng.random_range(1.0..3000.0),
                rng.random_range(1.0..1500.0),
            );
            let (cs, ls) = (format!("{clon}"), format!("{clat}"));
            let (ws, hs, rs) = (format!("{w}"), format!("{h}"), format!("{r}"));
            let mut cmd = vec!["GEOSEARCH", "g", "FROMLONLAT", &cs, &ls];
            if by_box {
                cmd.extend(["BYBOX", &ws, &hs, "km"]);
            } else {
                cmd.extend(["BYRADIUS", &rs, "km"]);
            }
            cmd.extend(["ASC", "WITHDIST"]);
            let found: Vec<(String, f64)> = q(&mut con, &cmd);
            let mut expected = Vec::new();
            let mut unsure = Vec::new();
            for (name, &(lon, lat)) in &decoded {
                let (inside, margin) = if by_box {
                    let dx = model_distance(lon, lat, clon, lat) - w * 500.0;
                    let dy = model_distance(lon, lat, lon, clat) - h * 500.0;
                    (dx <= 0.0 && dy <= 0.0, dx.abs().min(dy.abs()))
                } else {
                    let d = model_distance(clon, clat, lon, lat) - r * 1000.0;
                    (d <= 0.0, d.abs())
                };
                if margin < 1e-6 {
                    unsure.push(name.clone());
                } else if inside {
                    expected.push(name.clone());
                }
            }
            let mut got: Vec<String> =
                found.iter().map(|(n, _)| n.clone()).filter(|n| !unsure.contains(n)).collect();
            got.sort();
            assert_eq!(got, expected, "step {step}: {cmd:?}");
            assert!(found.windows(2).all(|p| p[0].1 <= p[1].1), "ASC order: {found:?}");
            for (name, dist) in &found {
                let (lon, lat) = decoded[name];
                let want = model_distance(clon, clat, lon, lat) / 1000.0;
                assert!((dist - want).abs() <= 0.00006, "{name}: {dist} vs {want}");
            }
        }
    }
}

/// A search whose reply would pass the client's output hard limit closes the client (its
/// matches are charged as they are found, so the reply is never built); with COUNT, or stored,
/// the same matches are fine.
#[test]
fn a_search_reply_past_the_output_limit_closes_the_client() {
    const HARD: u64 = 64 << 10;
    let server = TestServer::with(|c| {
        c.client_output_buffer_limit.normal =
            lode_server::OutputBufferLimit { hard_bytes: HARD, soft_bytes: 0, soft_secs: 0 };
    });
    let mut admin = server.client();
    let mut args: Vec<String> = vec!["GEOADD".into(), "g".into()];
    for i in 0..3000 {
        args.extend([
            format!("{}", 2.0 + f64::from(i) * 1e-5),
            "48".into(),
            format!("a-member-name-{i:08}"),
        ]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(q::<i64>(&mut admin, &refs), 3000);
    let search = ["GEOSEARCH", "g", "FROMLONLAT", "2", "48", "BYRADIUS", "10", "km"];
    let mut con = server.client();
    let mut cmd = redis::cmd(search[0]);
    for a in &search[1..] {
        cmd.arg(*a);
    }
    assert!(cmd.query::<Vec<String>>(&mut con).is_err(), "about 100 KiB of reply: closed");
    let mut with_count: Vec<&str> = search.to_vec();
    with_count.extend(["COUNT", "10"]);
    assert_eq!(q::<Vec<String>>(&mut admin, &with_count).len(), 10);
    let mut store = vec!["GEOSEARCHSTORE", "dst"];
    store.extend(&search[1..]);
    assert_eq!(q::<i64>(&mut admin, &store), 3000);
}

/// A geo key is a sorted set to every other command: the sorted-set commands read and change
/// its members (scores as redis-server printed them for these places), a member added by ZADD
/// is a place to the geo commands (even a score that is no geohash, decoded as Redis decodes
/// it), and the key commands move, copy, delete and expire it whole.
#[test]
fn a_geo_key_is_a_sorted_set_to_every_command() {
    let server = TestServer::start();
    let mut con = server.client();
    let palermo = ["13.36138933897018433".to_string(), "38.11555639549629859".into()];
    let add = ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669"];
    let mut add = add.to_vec();
    add.push("Catania");
    assert_eq!(q::<i64>(&mut con, &add), 2);
    assert_eq!(q::<String>(&mut con, &["TYPE", "g"]), "zset");
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "g"]), 2);
    assert_eq!(
        q::<Vec<String>>(&mut con, &["ZRANGE", "g", "0", "-1", "WITHSCORES"]),
        ["Palermo", "3479099956230698", "Catania", "3479447370796909"]
    );
    assert_eq!(q::<String>(&mut con, &["ZSCORE", "g", "Catania"]), "3479447370796909");
    assert_eq!(q::<i64>(&mut con, &["ZRANK", "g", "Catania"]), 1);
    // ZADD with Palermo's score puts a second point at Palermo.
    assert_eq!(q::<i64>(&mut con, &["ZADD", "g", "3479099956230698", "Copy"]), 1);
    assert_eq!(
        q::<Vec<Option<Vec<String>>>>(&mut con, &["GEOPOS", "g", "Copy", "Palermo"]),
        [Some(palermo.to_vec()), Some(palermo.to_vec())]
    );
    assert_eq!(q::<String>(&mut con, &["GEODIST", "g", "Copy", "Catania", "km"]), "166.2742");
    // A score beyond any geohash: C's cast, then the cell's centre, as redis-server printed.
    assert_eq!(q::<i64>(&mut con, &["ZADD", "g", "1e20", "far"]), 1);
    assert_eq!(
        q::<Vec<Option<Vec<String>>>>(&mut con, &["GEOPOS", "g", "far"]),
        [Some(vec!["-179.99999731779098511".to_string(), "-85.05112751263942528".into()])]
    );
    assert_eq!(q::<i64>(&mut con, &["ZREM", "g", "Palermo", "far"]), 2);
    assert_eq!(q::<Vec<Option<Vec<String>>>>(&mut con, &["GEOPOS", "g", "Palermo"]), [None]);
    let search = ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km", "ASC"];
    assert_eq!(q::<Vec<String>>(&mut con, &search), ["Catania", "Copy"]);
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "g"]), 2);
    // ZRANGESTORE of a geo key is a geo key.
    assert_eq!(q::<i64>(&mut con, &["ZRANGESTORE", "part", "g", "0", "0"]), 1);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["GEOHASH", "part", "Copy", "Catania"]),
        [Some("sqc8b49rny0".to_string()), None]
    );

    // RENAME moves the points; the old name is gone.
    assert_eq!(q::<String>(&mut con, &["RENAME", "g", "h"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "g"]), 0);
    let search_h: Vec<&str> = search.iter().map(|a| if *a == "g" { "h" } else { *a }).collect();
    assert_eq!(q::<Vec<String>>(&mut con, &search_h), ["Catania", "Copy"]);
    // COPY is independent of its source.
    assert_eq!(q::<i64>(&mut con, &["COPY", "h", "c"]), 1);
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "c", "15", "37", "Sud"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "c"]), 3);
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "h"]), 2);
    assert_eq!(q::<String>(&mut con, &["GEODIST", "c", "Copy", "Catania", "km"]), "166.2742");
    // DEL: no points remain for the geo commands, and a new key of that name starts empty.
    assert_eq!(q::<i64>(&mut con, &["DEL", "c"]), 1);
    let search_c: Vec<&str> = search.iter().map(|a| if *a == "g" { "c" } else { *a }).collect();
    assert_eq!(q::<Vec<String>>(&mut con, &search_c), Vec::<String>::new());
    assert_eq!(q::<i64>(&mut con, &["GEOADD", "c", "15", "37", "Sud"]), 1);
    assert_eq!(q::<Vec<String>>(&mut con, &search_c), ["Sud"]);
    // EXPIRE: the key keeps answering until its time, then is gone whole.
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "h", "1000"]), 1);
    assert!((990..=1000).contains(&q::<i64>(&mut con, &["TTL", "h"])));
    assert_eq!(q::<Vec<String>>(&mut con, &search_h), ["Catania", "Copy"]);
    assert_eq!(q::<i64>(&mut con, &["PEXPIREAT", "h", "1"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0);
    assert_eq!(q::<Vec<String>>(&mut con, &search_h), Vec::<String>::new());
    assert_eq!(q::<Option<String>>(&mut con, &["GEODIST", "h", "Copy", "Catania"]), None);
}
