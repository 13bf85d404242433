//! Writes the OpenMetrics files that `scripts/test.sh` backfills into the test Prometheus.
//!
//! Usage: `prometheus_backfill OUT_DIR`. Writes `OUT_DIR/generated.om` (see
//! [`shadow_tests::prometheus_fixtures::generated`]) and, when the shared data has a `nab/` directory
//! (`$SHADOW_DATA`, default `../shared/data` next to the repository), `OUT_DIR/nab.om`. Old `*.om` files in
//! `OUT_DIR` are removed first.

use std::{
    fs,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use shadow_tests::prometheus_fixtures::{Family, data_dir, generated, nab, write_openmetrics};

fn write(path: &Path, families: &[Family]) -> io::Result<()> {
    let mut out = BufWriter::new(fs::File::create(path)?);
    write_openmetrics(families, &mut out)?;
    out.flush()?;
    let samples: usize = families
        .iter()
        .flat_map(|f| &f.series)
        .map(|s| s.samples.len())
        .sum();
    println!(
        "prometheus_backfill: wrote {} ({samples} samples)",
        path.display()
    );
    Ok(())
}

fn run(out_dir: &Path) -> io::Result<()> {
    fs::create_dir_all(out_dir)?;
    for entry in fs::read_dir(out_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "om") {
            fs::remove_file(path)?;
        }
    }
    write(&out_dir.join("generated.om"), &generated())?;
    let data = data_dir();
    match nab(&data)? {
        Some(family) => write(&out_dir.join("nab.om"), &[family])?,
        None => println!(
            "prometheus_backfill: no NAB series: {} does not exist (set SHADOW_DATA)",
            data.join("nab").display()
        ),
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out_dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: prometheus_backfill OUT_DIR");
        return ExitCode::from(2);
    };
    match run(&PathBuf::from(out_dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("prometheus_backfill: {e}");
            ExitCode::FAILURE
        }
    }
}
