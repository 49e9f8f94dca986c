use async_unsafe_runtime::{capture_violations, syscalls};

#[test]
fn scratch() {
    syscalls::watch().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let v = rt.block_on(rt.spawn(async {
        capture_violations(|| {
            std::thread::sleep(std::time::Duration::from_millis(1));
            let _ = std::fs::read_to_string("Cargo.toml");
            let _ = std::fs::metadata("Cargo.toml");
            let _ = std::fs::read_to_string("/nonexistent");
        })
        .1
    }))
    .unwrap();
    for e in v {
        println!("{e}\n  {:?}", e.user_frame());
    }
}
