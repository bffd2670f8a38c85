//! Import speed and memory on a real data stream, the figures behind the ≤ 1 s / ≤ 100 MB
//! target: `cargo run --release -p bulwark-scap --example import_bench -- FILE [PROFILE]`,
//! best under `/usr/bin/time -v` for the process's peak memory (also printed from
//! /proc/self/status). Prints the time to read the file, to parse it, and to resolve every
//! profile.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        return Err("usage: import_bench DATASTREAM.xml".into());
    };

    let started = Instant::now();
    let bytes = std::fs::read(path)?;
    let read_file = started.elapsed();

    let started = Instant::now();
    let datastream = bulwark_scap::read_datastream(&bytes)?;
    let parse = started.elapsed();

    println!("file:       {path} ({} bytes)", bytes.len());
    println!("digest:     {}", datastream.digest());
    println!("read file:  {:.1} ms", read_file.as_secs_f64() * 1000.0);
    println!(
        "parse:      {:.1} ms ({:.0} MB/s)",
        parse.as_secs_f64() * 1000.0,
        bytes.len() as f64 / parse.as_secs_f64() / 1e6
    );
    for benchmark in datastream.benchmarks() {
        println!(
            "benchmark:  {} ({} profiles, {} groups, {} rules, {} values)",
            benchmark.id,
            benchmark.profiles().len(),
            benchmark.groups().len(),
            benchmark.rules().len(),
            benchmark.values().len()
        );
        let started = Instant::now();
        let mut selected = 0;
        for profile in benchmark.profiles() {
            selected += benchmark.resolve_profile(&profile.id)?.rules.len();
        }
        println!(
            "resolve:    all profiles in {:.1} ms ({selected} rules selected in total)",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            if line.starts_with("VmHWM") || line.starts_with("VmRSS") {
                println!("{line}");
            }
        }
    }
    Ok(())
}
