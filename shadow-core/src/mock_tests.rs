//! Call-order tests with the mockall mocks: the orchestrator pattern they exist for.
//!
//! Prefer the in-memory fakes (`memory`, feature `test-util`) when a test is about state; use mocks, as here,
//! when it is about which calls happen and in what order.

use futures::{StreamExt, stream};
use mockall::{Sequence, predicate::eq};

use crate::{
    Dependency, DependencyEvent, DependencyKind, DependencyRegistry, Environment, Error,
    MockDependencyRegistry, MockProvisioner, MockTrafficShifter, Provisioner, ProvisioningRequest, Replicas,
    Result, ServiceId, TrafficShifter, TrafficSplit, TrafficWeight, scaling::Allocation,
};

/// Warms the shadow to `request.target`, and only once it is ready moves `split` of the traffic to it.
async fn warm_then_shift(
    prov: &dyn Provisioner,
    shifter: &dyn TrafficShifter,
    request: &ProvisioningRequest,
    split: TrafficSplit,
) -> Result<TrafficSplit> {
    let alloc = prov.apply(request).await?;
    if alloc.ready < request.target {
        return Err(Error::Unavailable {
            provider: "warm_then_shift",
            message: format!("{} of {} replicas ready", alloc.ready, request.target),
        });
    }
    shifter.set_weights(&request.service, split).await
}

fn request() -> ProvisioningRequest {
    let t0 = chrono::DateTime::UNIX_EPOCH;
    ProvisioningRequest {
        service: ServiceId::new("checkout").unwrap(),
        environment: Environment::Shadow,
        target: Replicas(8),
        issue_at: t0,
        deadline: t0,
        reason: "test".into(),
    }
}

fn allocation(request: &ProvisioningRequest, ready: u32) -> Allocation {
    Allocation {
        service: request.service.clone(),
        environment: request.environment,
        desired: request.target,
        ready: Replicas(ready),
    }
}

#[tokio::test]
async fn provisions_before_shifting_traffic() {
    let req = request();
    let split = TrafficSplit::to_shadow(TrafficWeight::from_percent(5.0).unwrap());
    let mut seq = Sequence::new();
    let mut prov = MockProvisioner::new();
    let mut shifter = MockTrafficShifter::new();
    prov.expect_name().return_const("mock-provisioner".to_string());
    prov.expect_apply()
        .with(eq(req.clone()))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|r| Ok(allocation(r, r.target.0)));
    shifter
        .expect_set_weights()
        .with(eq(req.service.clone()), eq(split))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, s| Ok(s));

    assert_eq!(prov.name(), "mock-provisioner");
    let applied = warm_then_shift(&prov, &shifter, &req, split).await.unwrap();
    assert_eq!(applied, split);
    // Dropping the mocks checks that every expectation ran, in sequence.
}

#[tokio::test]
async fn never_shifts_when_the_shadow_is_not_ready() {
    let req = request();
    let mut prov = MockProvisioner::new();
    let mut shifter = MockTrafficShifter::new();
    prov.expect_apply().times(1).returning(|r| Ok(allocation(r, 3)));
    shifter.expect_set_weights().never();
    let err = warm_then_shift(&prov, &shifter, &req, TrafficSplit::ALL_SHADOW)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "warm_then_shift: unavailable: 3 of 8 replicas ready"
    );
}

#[tokio::test]
async fn mocks_return_watch_streams() {
    let db = Dependency {
        id: ServiceId::new("db").unwrap(),
        kind: DependencyKind::Database,
    };
    let event = DependencyEvent::Added(db);
    let mut registry = MockDependencyRegistry::new();
    let sent = event.clone();
    registry
        .expect_watch()
        .times(1)
        .returning(move |_| Ok(stream::iter([Ok(sent.clone())]).boxed()));
    let svc = ServiceId::new("checkout").unwrap();
    let events: Vec<_> = registry.watch(&svc).await.unwrap().collect().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().unwrap(), &event);
}
