//! Compile tests of the macros: `trybuild/fail/*.rs` must not compile and must produce exactly the
//! diagnostics recorded next to them in `*.stderr`; `trybuild/pass/*.rs` must compile and run.
//!
//! Diagnostic text changes between compiler releases, so the test runs only on the compiler the
//! `.stderr` files were recorded with, and is reported as ignored, with the reason, on any other.
//! After a toolchain update, re-record with `TRYBUILD=overwrite cargo test --test trybuild`, review
//! every changed `.stderr`, and update the version below.

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "the expected compiler output in trybuild/fail/*.stderr was recorded with stable rustc 1.95 \
              and differs between releases; run `cargo +1.95.0 test --test trybuild`"
)]
#[test]
fn macros() {
    let t = trybuild::TestCases::new();
    t.compile_fail("trybuild/fail/*.rs");
    t.pass("trybuild/pass/*.rs");
}
