//! A judge plugin that attacks its host, for the sandbox tests. The attack
//! is chosen by the `attack` option. An attack that works reports what it
//! got as a "yes" assessment (so a test sees the leak); one that is denied
//! reports the guest-side error as `failed: denied: ...`.

use std::hint::black_box;
use std::io::{Read, Write};

use gavel_sdk::llm::complete;
use gavel_sdk::{
    Assessment, Description, Judge, JudgeConfig, JudgeError, Message, Question, Row, Scale, Verdict,
};
use serde_json::Value;

struct Hostile;

fn denied(what: impl std::fmt::Display) -> JudgeError {
    JudgeError::Failed(format!("denied: {what}"))
}

fn leaked(what: impl Into<String>) -> Result<Assessment, JudgeError> {
    Ok(Assessment::yes(format!("LEAKED: {}", what.into())))
}

impl Judge for Hostile {
    fn describe() -> Description {
        Description::answer("hostile", "6.6.6", "Attacks its sandbox.")
    }

    fn evaluate(_row: &Row, config: &JudgeConfig) -> Result<Assessment, JudgeError> {
        let options: Value = serde_json::from_str(&config.options).unwrap_or_default();
        let attack = options["attack"].as_str().unwrap_or("none");
        match attack {
            "none" => Ok(Assessment::yes("harmless this time")),
            "loop" => {
                let mut x = 0u64;
                loop {
                    x = black_box(x.wrapping_add(1));
                }
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(Assessment::yes("woke up"))
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![7u8; 1 << 20]));
                }
            }
            "stack" => Ok(Assessment::yes(format!("{}", recurse(black_box(1))))),
            "read_file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => leaked(text),
                Err(e) => Err(denied(e)),
            },
            "list_dir" => match std::fs::read_dir("/") {
                Ok(entries) => leaked(format!("{} entries", entries.count())),
                Err(e) => Err(denied(e)),
            },
            "write_file" => match std::fs::write("/tmp/gavel-hostile-was-here", "x") {
                Ok(()) => leaked("wrote /tmp/gavel-hostile-was-here"),
                Err(e) => Err(denied(e)),
            },
            "env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
                if vars.is_empty() {
                    Err(denied("the environment is empty"))
                } else {
                    leaked(vars.join(" "))
                }
            }
            "args" => {
                let args: Vec<String> = std::env::args().collect();
                if args.is_empty() {
                    Err(denied("no arguments"))
                } else {
                    leaked(args.join(" "))
                }
            }
            "socket" => {
                let addr = options["addr"].as_str().unwrap_or("127.0.0.1:9");
                match std::net::TcpStream::connect(addr) {
                    Ok(mut stream) => {
                        let _ = stream.write_all(b"hello from the sandbox");
                        let mut buf = [0u8; 16];
                        let _ = stream.read(&mut buf);
                        leaked(format!("connected to {addr}"))
                    }
                    Err(e) => Err(denied(e)),
                }
            }
            "dns" => match std::net::ToSocketAddrs::to_socket_addrs(&("localhost", 80)) {
                Ok(addrs) => leaked(format!("resolved {:?}", addrs.collect::<Vec<_>>())),
                Err(e) => Err(denied(e)),
            },
            "clock" => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                Ok(Assessment::yes(format!("wall clock: {now}")))
            }
            "llm_flood" => {
                for _ in 0..1000 {
                    complete(&config.endpoint, vec![Message::user("again")], None)
                        .map_err(JudgeError::Llm)?;
                }
                Ok(Assessment::yes("made 1000 calls"))
            }
            "llm_flood_ignoring_errors" => {
                let ok = (0..1000)
                    .filter(|_| {
                        complete(&config.endpoint, vec![Message::user("again")], None).is_ok()
                    })
                    .count();
                Ok(Assessment::yes(format!("{ok} calls succeeded")))
            }
            // The same floods through the `ask` import, which makes the
            // requests (and repairs) on the judge's behalf.
            "ask_flood" => {
                let ok = (0..1000)
                    .filter(|_| gavel_sdk::ask_yes_no("again {{request}}").is_ok())
                    .count();
                Ok(Assessment::yes(format!("{ok} asks succeeded")))
            }
            "ask_render_flood" => {
                let big = "x".repeat(1 << 20);
                let question = Question::new(&"{{x}}".repeat(52_000), Scale::YesNo).with("x", &big);
                gavel_sdk::ask(&question)?;
                leaked("asked with a 52 GB prompt")
            }
            "ask_alias" => {
                let alias = options["alias"].as_str().unwrap_or("secret");
                gavel_sdk::ask(&Question::new("hi", Scale::YesNo).through(alias))?;
                leaked(format!("asked {alias}"))
            }
            "alias" => {
                let alias = options["alias"].as_str().unwrap_or("secret");
                complete(alias, vec![Message::user("hi")], None).map_err(JudgeError::Llm)?;
                leaked(format!("called {alias}"))
            }
            "panic" => panic!("hostile judge panicked on purpose"),
            "exit" => std::process::exit(3),
            "stdout_flood" => {
                let line = "spam ".repeat(200);
                for _ in 0..20_000 {
                    println!("{line}");
                    eprintln!("{line}");
                }
                Ok(Assessment::yes("printed 40 MB"))
            }
            "huge_rationale" => Ok(Assessment::yes("x".repeat(8 << 20))),
            "bad_score" => Ok(Assessment::new(Verdict::Score(9), "nine out of five")),
            "wrong_chunks" => Ok(Assessment::yes("chunks").with_chunks(vec![Err("one".into()); 3])),
            // 20 MB of error text full of terminal escape sequences: clear
            // screen, window title, colours, a bell, a carriage return.
            "huge_error" => Err(JudgeError::Failed(format!(
                "\u{1b}[2J\u{1b}[H{}",
                "\u{1b}]0;pwned\u{7}\u{1b}[31mRED\r\u{1b}[0m".repeat((20 << 20) / 23)
            ))),
            // A short rationale a spreadsheet would run and a terminal obey.
            "escape_rationale" => Ok(Assessment::no(
                "=HYPERLINK(\"http://evil.example\")\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m\u{202e}txt.exe",
            )),
            // The host does the work: ~52,000 references to a 1 MiB value
            // (52 GB of prompt if nothing stops it).
            "render_flood" => {
                let big = "x".repeat(1 << 20);
                let tags = options["tags"].as_u64().unwrap_or(52_000) as usize;
                let template = "{{x}}".repeat(tags);
                let prompt = gavel_sdk::prompt::render(&template, &[("x", &big)])?;
                leaked(format!("rendered {} bytes", prompt.len()))
            }
            // Four nested loops over the variables: 100^4 iterations.
            "render_loops" => {
                let names: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
                let vars: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
                let template = "{{#each this}}{{#each ../this}}{{#each ../../this}}{{#each ../../../this}}.{{/each}}{{/each}}{{/each}}{{/each}}";
                let prompt = gavel_sdk::prompt::render(template, &vars)?;
                leaked(format!("rendered {} bytes", prompt.len()))
            }
            // Handlebars' log helper writes to the host's log.
            "render_log" => {
                let template = "{{log \"spam from the template\"}}".repeat(1_000);
                gavel_sdk::prompt::render(&template, &[])?;
                leaked("logged through the template")
            }
            // Many distinct templates (10 MB): the host's template cache
            // would grow with every one.
            "render_many" => {
                let filler = "y".repeat(100 << 10);
                for i in 0..100 {
                    gavel_sdk::prompt::render(&format!("{i} {filler} {{{{request}}}}"), &[])?;
                }
                Ok(Assessment::yes("rendered 100 templates"))
            }
            // 200 MB of error-level log lines full of escape sequences.
            "log_flood" => {
                let line = "\u{1b}[2J\u{1b}]0;pwned\u{7}".repeat(1 << 9);
                for _ in 0..20_000 {
                    gavel_sdk::log::error(&line);
                }
                Ok(Assessment::yes("logged 200 MB"))
            }
            other => Err(JudgeError::InvalidConfig(format!(
                "unknown attack {other:?}"
            ))),
        }
    }
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let pad = black_box([depth; 64]);
    recurse(black_box(depth + 1)) + pad[3]
}

gavel_sdk::register_judge!(Hostile);
