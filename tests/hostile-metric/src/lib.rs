//! A metric plugin that attacks its host, for the sandbox tests. A metric
//! has no options, so the row's request names the attack; any other request
//! is measured harmlessly (the response's length).

use std::hint::black_box;

use gavel_sdk::{Metric, MetricDescription, Row};

struct HostileMetric;

/// Overflows the stack, which Rust keeps in linear memory.
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let pad = black_box([depth; 64]);
    recurse(black_box(depth + 1)) + pad[3]
}

impl Metric for HostileMetric {
    fn describe() -> MetricDescription {
        MetricDescription::new("hostile_metric", "6.6.6", "Attacks its sandbox.")
    }

    fn measure(row: &Row) -> Result<Option<f64>, String> {
        match row.request.as_str() {
            "loop" => {
                let mut x = 0u64;
                loop {
                    x = black_box(x.wrapping_add(1));
                }
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(Some(1.0))
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![7u8; 1 << 20]));
                }
            }
            "stack" => Ok(Some(recurse(black_box(1)) as f64)),
            "panic" => panic!("the metric panicked on purpose"),
            "nan" => Ok(Some(f64::NAN)),
            "infinity" => Ok(Some(f64::INFINITY)),
            "huge" => Ok(Some(1e300)),
            "fail" => Err(format!("\u{1b}[31mred\u{1b}[0m {}", "x".repeat(1 << 20))),
            "log" => {
                for _ in 0..10_000 {
                    gavel_sdk::log::warn(&"\u{1b}[2J flood ".repeat(100));
                }
                Ok(Some(2.0))
            }
            "print" => {
                for _ in 0..10_000 {
                    eprintln!("{}", "flood ".repeat(100));
                }
                Ok(Some(3.0))
            }
            "read_file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => Err(format!("LEAKED: {text}")),
                Err(_) => Ok(Some(4.0)),
            },
            _ => Ok(row.response.as_ref().map(|r| r.chars().count() as f64)),
        }
    }
}

gavel_sdk::register_metric!(HostileMetric);
