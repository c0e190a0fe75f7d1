//! The patched Barrett reduction of core/vendor/module-lattice (no 128-bit multiply, for wasm32) returns exactly
//! what the upstream code returns, for every input width the fields use: products of two field elements (the only
//! caller), edge values, and arbitrary values of the double-width type.
//!
//! The fields are instantiated through the same `define_field!` macro ml-dsa (q = 8380417) and ml-kem (q = 3329)
//! use, so this exercises the code that runs inside the x0x core.

use module_lattice::{Elem, Field};
use proptest::prelude::*;

module_lattice::define_field!(Dsa, u32, u64, u128, 8_380_417);
module_lattice::define_field!(Kem, u16, u32, u64, 3329);

/// Upstream module-lattice 0.2.4: `x * M >> SHIFT` in the quadruple-width type, then one conditional subtraction.
fn upstream_dsa(x: u64) -> u32 {
    let x = u128::from(x);
    let quotient = (x * Dsa::BARRETT_MULTIPLIER) >> Dsa::BARRETT_SHIFT;
    let r = (x - quotient * Dsa::QLL) as u32;
    if r >= Dsa::Q {
        r - Dsa::Q
    } else {
        r
    }
}

fn upstream_kem(x: u32) -> u16 {
    let x = u64::from(x);
    let quotient = (x * Kem::BARRETT_MULTIPLIER) >> Kem::BARRETT_SHIFT;
    let r = (x - quotient * Kem::QLL) as u16;
    if r >= Kem::Q {
        r - Kem::Q
    } else {
        r
    }
}

#[test]
fn edges_match_upstream_and_reduce_mod_q() {
    let q = u64::from(Dsa::Q);
    for x in [
        0,
        1,
        q - 1,
        q,
        q + 1,
        2 * q - 1,
        (q - 1) * (q - 1),
        (q - 1) * (q - 1) - 1,
        1 << 32,
        (1 << 32) - 1,
    ] {
        assert_eq!(Dsa::barrett_reduce(x), upstream_dsa(x), "{x}");
        assert_eq!(u64::from(Dsa::barrett_reduce(x)), x % q, "{x}");
    }
    // Every product of two elements of ml-kem's field, exhaustively (3329^2 pairs would be slow; all squares and
    // a stride of products cover the range).
    let q = u32::from(Kem::Q);
    for a in 0..q {
        for b in (0..q).step_by(7) {
            let x = a * b;
            assert_eq!(Kem::barrett_reduce(x), upstream_kem(x));
            assert_eq!(u32::from(Kem::barrett_reduce(x)), x % q);
        }
    }
}

proptest! {
    #[test]
    fn field_products_reduce_mod_q(a in 0..8_380_417u32, b in 0..8_380_417u32) {
        let product = Elem::<Dsa>::new(a) * Elem::<Dsa>::new(b);
        prop_assert_eq!(u64::from(product.0), u64::from(a) * u64::from(b) % 8_380_417);
    }

    #[test]
    fn any_double_width_value_matches_upstream(x in any::<u64>(), y in any::<u32>()) {
        prop_assert_eq!(Dsa::barrett_reduce(x), upstream_dsa(x));
        prop_assert_eq!(Kem::barrett_reduce(y), upstream_kem(y));
    }
}
