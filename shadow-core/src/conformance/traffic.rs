//! The [`traffic_shifter`] check.

use super::{assert_err_kind, unknown_service};
use crate::{
    ids::ServiceId,
    quantity::TrafficWeight,
    traits::traffic::{TrafficShifter, TrafficSplit},
};

/// Checks the [`TrafficShifter`] contract on `service`.
///
/// # Assumptions
/// - The backend knows `service`, and nothing else changes its split while the check runs.
/// - The backend does not know the service `shadow-conformance-no-such-service`.
///
/// # Asserts
/// 1. `name()` is not empty; `granularity_bp` is in `1..=10_000`.
/// 2. `set_weights` to all live and to all shadow returns exactly that split (0 % and 100 % are never rounded),
///    and `weights` reads it back.
/// 3. For shadow shares of one granularity step and of 25 %, 33.33 %, 50 %, 77.77 % and 99.99 %: the applied
///    share is less than one granularity step away from the request, `weights` reads back the applied split,
///    setting the same request again gives the same split, and setting the applied split gives it unchanged.
/// 4. An unknown service gives [`Error::NotFound`](crate::Error::NotFound) from `weights` and `set_weights`.
/// 5. Setting the original split back succeeds.
///
/// # Panics
/// On the first violation, with a message naming the provider and the rule.
pub async fn traffic_shifter(shifter: &dyn TrafficShifter, service: &ServiceId) {
    let name = shifter.name().to_string();
    assert!(!name.is_empty(), "conformance: traffic shifter: name() is empty");
    let ctx = |rule: &str| format!("conformance: traffic shifter `{name}`: {rule}");
    let granularity = shifter.capability().granularity_bp;
    assert!(
        (1..=10_000).contains(&granularity),
        "{}",
        ctx(&format!("granularity_bp {granularity} is outside 1..=10000"))
    );

    let read = async || {
        shifter
            .weights(service)
            .await
            .unwrap_or_else(|e| panic!("{}", ctx(&format!("weights({service}) failed: {e}"))))
    };
    let set = async |split: TrafficSplit| {
        let applied = shifter
            .set_weights(service, split)
            .await
            .unwrap_or_else(|e| panic!("{}", ctx(&format!("set_weights({service}, {split}) failed: {e}"))));
        assert_eq!(
            read().await,
            applied,
            "{}",
            ctx(&format!(
                "weights() must read back what set_weights({split}) returned"
            ))
        );
        applied
    };
    let original = read().await;

    // 2. The extremes are exact.
    for split in [TrafficSplit::ALL_LIVE, TrafficSplit::ALL_SHADOW] {
        assert_eq!(
            set(split).await,
            split,
            "{}",
            ctx(&format!("{split} must not be rounded"))
        );
    }

    // 3. Rounding and idempotency.
    for bp in [granularity, 2_500, 3_333, 5_000, 7_777, 9_999] {
        let requested = TrafficSplit::to_shadow(TrafficWeight::try_new(bp).expect("at most 10000"));
        let applied = set(requested).await;
        let off = applied.shadow.basis_points().abs_diff(bp);
        assert!(
            off < granularity,
            "{}",
            ctx(&format!(
                "{requested} was applied as {applied}: {off} bp off with a granularity of {granularity} bp"
            ))
        );
        assert_eq!(
            set(requested).await,
            applied,
            "{}",
            ctx(&format!("setting {requested} twice"))
        );
        assert_eq!(
            set(applied).await,
            applied,
            "{}",
            ctx(&format!("setting the applied {applied} again"))
        );
    }

    // 4. Unknown service.
    let unknown = unknown_service();
    assert_err_kind(
        &shifter.weights(&unknown).await,
        &["not_found"],
        &ctx("weights of an unknown service"),
    );
    assert_err_kind(
        &shifter.set_weights(&unknown, TrafficSplit::ALL_LIVE).await,
        &["not_found"],
        &ctx("set_weights of an unknown service"),
    );

    // 5. Restore.
    set(original).await;
}
