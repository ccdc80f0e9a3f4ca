//! The `caravan` binary.

fn main() {
    eprintln!("caravan: the server is not built yet");
    std::process::exit(1);
}
