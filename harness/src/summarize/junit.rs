//! `junit.xml`: the summary as JUnit XML, so that CI systems show each run as a test case. One
//! suite per kind: `real-runs` (a case per run directory), `sim-sweeps` (a case per sweep and one
//! per failing seed), `fuzz` (a case per target). A violation or crash is a `<failure>`, a
//! harness failure or unreadable run directory an `<error>`, an unknown `<skipped>`.

use std::fmt::Write;

use super::report::Summary;

/// How a test case ended.
enum CaseEnd {
    Passed,
    Failure { message: String, text: String },
    Error { message: String, text: String },
    Skipped { message: String },
}

struct Case {
    class: String,
    name: String,
    seconds: f64,
    end: CaseEnd,
}

/// The whole document.
pub fn render(summary: &Summary) -> String {
    let c = &summary.collected;
    let mut real = Vec::new();
    for run in &c.runs {
        let anomaly = run.anomaly.clone().unwrap_or_else(|| run.verdict.clone());
        let text = format!(
            "{}\nreproduce: {}\nrun directory: {}\ntimeline: {}",
            run.detail,
            run.reproduce,
            run.dir.display(),
            run.timeline.display()
        );
        let message = format!("{}: {anomaly}", run.verdict);
        let end = match run.exit_code {
            0 => CaseEnd::Passed,
            1 => CaseEnd::Failure { message, text },
            2 => CaseEnd::Skipped { message },
            _ => CaseEnd::Error { message, text },
        };
        real.push(Case {
            class: format!("gauntlet.test.{}", run.test),
            name: format!("{} seed {}", run.started, run.seed),
            seconds: run.duration_s.unwrap_or(0.0),
            end,
        });
    }
    for bad in &c.unreadable {
        real.push(Case {
            class: "gauntlet.store".into(),
            name: bad.path.display().to_string(),
            seconds: 0.0,
            end: CaseEnd::Error {
                message: "unreadable".into(),
                text: bad.problem.clone(),
            },
        });
    }
    let mut sim = Vec::new();
    for sweep in &c.sweeps {
        let class = format!("gauntlet.sim.{}", sweep.seeds);
        let missing = !sweep.missing_shards.is_empty();
        sim.push(Case {
            class: class.clone(),
            name: format!("sweep of {} seeds", sweep.seeds_run),
            seconds: sweep.wall_s,
            end: if missing {
                CaseEnd::Error {
                    message: format!("shards missing: {:?}", sweep.missing_shards),
                    text: sweep.command.clone(),
                }
            } else {
                CaseEnd::Passed
            },
        });
        for f in &sweep.failures {
            let message = format!("{}: {}", f.verdict, f.anomaly);
            let text = format!(
                "{}\nreproduce: {}\nsaved: {}",
                f.summary,
                f.reproduce,
                f.dir.display()
            );
            let end = match f.verdict.as_str() {
                "violation" => CaseEnd::Failure { message, text },
                "unknown" => CaseEnd::Skipped { message },
                _ => CaseEnd::Error { message, text },
            };
            sim.push(Case {
                class: class.clone(),
                name: format!("seed {}", f.seed),
                seconds: 0.0,
                end,
            });
        }
    }
    let fuzz: Vec<Case> = c
        .fuzz
        .iter()
        .map(|f| Case {
            class: "gauntlet.fuzz".into(),
            name: f.target.clone(),
            seconds: f.seconds as f64,
            end: if f.crashes > 0 || f.exit_status != 0 {
                CaseEnd::Failure {
                    message: format!("{} crash file(s), exit {}", f.crashes, f.exit_status),
                    text: format!(
                        "crash inputs: {}\nlog: {}",
                        f.crash_dir.display(),
                        f.log.display()
                    ),
                }
            } else {
                CaseEnd::Passed
            },
        })
        .collect();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gauntlet\">\n",
    );
    for (name, cases) in [("real-runs", real), ("sim-sweeps", sim), ("fuzz", fuzz)] {
        suite(&mut xml, name, &cases);
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn suite(xml: &mut String, name: &str, cases: &[Case]) {
    let count = |f: fn(&CaseEnd) -> bool| cases.iter().filter(|c| f(&c.end)).count();
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        cases.len(),
        count(|e| matches!(e, CaseEnd::Failure { .. })),
        count(|e| matches!(e, CaseEnd::Error { .. })),
        count(|e| matches!(e, CaseEnd::Skipped { .. })),
        cases.iter().map(|c| c.seconds).sum::<f64>()
    );
    for case in cases {
        let _ = write!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(&case.class),
            escape(&case.name),
            case.seconds
        );
        match &case.end {
            CaseEnd::Passed => xml.push_str("/>\n"),
            CaseEnd::Failure { message, text } | CaseEnd::Error { message, text } => {
                let tag = if matches!(case.end, CaseEnd::Failure { .. }) {
                    "failure"
                } else {
                    "error"
                };
                let _ = writeln!(
                    xml,
                    ">\n      <{tag} message=\"{}\">{}</{tag}>\n    </testcase>",
                    escape(message),
                    escape(text)
                );
            }
            CaseEnd::Skipped { message } => {
                let _ = writeln!(
                    xml,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(message)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n");
}

/// Text safe inside an XML attribute or element.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_xml_does_not_allow() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;?"
        );
    }
}
