//! Writes the parity corpus with the native answers as JSON
//! (`[{"name", "op", "request", "expected"}]`), for the browser test to
//! replay through the browser build: `cargo run -p caravan-wasm --example
//! parity_corpus -- OUT.json`.

#[path = "../tests/corpus/mod.rs"]
mod corpus;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: parity_corpus OUT.json")?;
    let cases: Vec<serde_json::Value> = corpus::corpus()
        .into_iter()
        .map(|c| {
            let expected = caravan_wasm::call(c.op, &c.request);
            serde_json::json!({
                "name": c.name,
                "op": c.op.name(),
                "request": String::from_utf8_lossy(&c.request),
                "expected": String::from_utf8_lossy(&expected),
            })
        })
        .collect();
    std::fs::write(&out, serde_json::to_vec(&cases)?)?;
    println!("{} cases written to {out}", cases.len());
    Ok(())
}
