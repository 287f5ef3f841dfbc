//! The state dict: layout, golden initial weights, and exact save/load.

use autograd::Graph;
use params::{
    Activation, ChaChaInit, Difference, Error, InitSource, InitStd, ModelConfig, SavedStateDict,
    StateDict, TensorName,
};

fn build(config: &ModelConfig, init: &mut dyn InitSource) -> (Graph, StateDict) {
    let mut graph = Graph::new();
    let state = StateDict::new(&mut graph, config, init).unwrap();
    (graph, state)
}

fn golden_fixture() -> SavedStateDict {
    fixture("init_seed42.json")
}

fn fixture(name: &str) -> SavedStateDict {
    let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    SavedStateDict::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn tensors_are_contiguous_in_the_reference_order() {
    let (_, state) = build(&ModelConfig::reference(27), &mut ChaChaInit::new(1));
    assert_eq!(state.num_params(), 4064);
    let mut next = state.params().start();
    for t in state.iter() {
        assert_eq!(
            t.span.start(),
            next,
            "{} does not follow its predecessor",
            t.name
        );
        assert_eq!(t.span.len(), t.rows * t.cols);
        next += t.span.len();
        assert_eq!(state.get(&t.name.to_string()).unwrap().span, t.span);
    }
    assert_eq!(next, state.params().start() + state.num_params());
    let wq = state.tensor(TensorName::Layer(0, params::LayerTensor::AttnWq));
    assert_eq!(wq.name.to_string(), "layer0.attn_wq");
    assert_eq!(wq.row(3).start(), wq.span.start() + 3 * 16);
    assert!(state.get("layer1.attn_wq").is_none());
}

#[test]
fn golden_fixture_matches_the_code() {
    // `cargo xtask golden --check` runs the same comparison and says how to update.
    let diff = golden_fixture().first_difference(&params::golden_init());
    assert_eq!(
        diff, None,
        "fixtures/init_seed42.json is stale: run `cargo xtask golden --update`"
    );
}

#[test]
fn golden_v2_fixture_matches_the_code() {
    let golden = fixture("init_v2_seed42.json");
    let diff = golden.first_difference(&params::golden_init_v2());
    assert_eq!(
        diff, None,
        "fixtures/init_v2_seed42.json is stale: run `cargo xtask golden --update`"
    );
    assert_eq!(golden.config, ModelConfig::reference_v2(27));
    assert_eq!(golden.config.activation, Activation::Relu);
    // v2 draws the output projections too: nothing starts at zero.
    let wo = golden
        .tensors
        .iter()
        .find(|t| t.name == "layer0.attn_wo")
        .unwrap();
    assert!(wo.values.iter().all(|&v| v != 0.0));
}

#[test]
fn v2_init_draws_every_gaussian_in_order_with_std_0_08() {
    // The CPython generator, as the reference uses it: one `gauss(0, 0.08)` per
    // parameter in state-dict order, the output projections included.
    let config = ModelConfig::reference_v2(27);
    let mut graph = Graph::new();
    let mut init = params::pyrandom::PyRandom::new(42);
    let state = StateDict::with_std(&mut graph, &config, &InitStd::V2, &mut init).unwrap();
    let mut expected = params::pyrandom::PyRandom::new(42);
    for (i, &v) in graph.values(state.params()).iter().enumerate() {
        assert_eq!(
            v.to_bits(),
            expected.gauss(0.0, 0.08).to_bits(),
            "param {i}"
        );
    }
    assert!(state.iter().all(|t| t.std == 0.08));
    // v1: the same draws advance the generator, but the projections hold zeros.
    let mut graph = Graph::new();
    let state = StateDict::with_std(
        &mut graph,
        &ModelConfig::reference(27),
        &InitStd::V1,
        &mut params::pyrandom::PyRandom::new(42),
    )
    .unwrap();
    let wo = state.get("layer0.attn_wo").unwrap();
    assert!(graph.values(wo.span).iter().all(|&v| v == 0.0));
    assert_eq!(wo.std, 0.0);
}

/// Another source's draws, with the std of one tensor (by position) scaled.
struct ScaleStd<'a> {
    inner: &'a mut dyn InitSource,
    tensor: usize,
    scale: f64,
    seen: usize,
}

impl InitSource for ScaleStd<'_> {
    fn fill_gaussian(&mut self, std: f64, out: &mut [f64]) {
        let scale = if self.seen == self.tensor {
            self.scale
        } else {
            1.0
        };
        self.seen += 1;
        self.inner.fill_gaussian(std * scale, out);
    }
}

#[test]
fn golden_check_catches_seed_order_and_std_changes() {
    let golden = golden_fixture();
    let config = params::golden_config();

    let (g, s) = build(&config, &mut ChaChaInit::new(43));
    let other_seed = SavedStateDict::capture(&s, &g).unwrap();
    let diff = golden
        .first_difference(&other_seed)
        .expect("another seed must differ");
    assert!(
        matches!(&diff, Difference::Value { tensor, index: 0, .. } if tensor == "wte"),
        "{diff}"
    );

    let mut base = ChaChaInit::new(42);
    // Tensor 3 is layer0.attn_wq.
    let mut scaled = ScaleStd {
        inner: &mut base,
        tensor: 3,
        scale: 1.5,
        seen: 0,
    };
    let (g, s) = build(&config, &mut scaled);
    let other_std = SavedStateDict::capture(&s, &g).unwrap();
    let diff = golden
        .first_difference(&other_std)
        .expect("another std must differ");
    assert!(
        matches!(&diff, Difference::Value { tensor, .. } if tensor == "layer0.attn_wq"),
        "{diff}"
    );

    let mut swapped = golden.clone();
    swapped.tensors.swap(0, 2); // wte and lm_head have the same shape
    let diff = golden
        .first_difference(&swapped)
        .expect("another order must differ");
    assert!(diff.to_string().contains("lm_head"), "{diff}");
}

#[test]
fn values_round_trip_exactly_through_json() {
    let config = ModelConfig {
        vocab_size: 5,
        n_embd: 4,
        n_head: 2,
        n_layer: 2,
        block_size: 3,
        activation: Activation::Relu,
    };
    let (mut g, s) = build(&config, &mut ChaChaInit::new(9));
    // Awkward values: signed zero, subnormal, extremes, values with 17 digits.
    let awkward = [
        -0.0,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        0.1 + 0.2,
        1.0 / 3.0,
        -2.5e-300,
    ];
    for (i, &v) in awkward.iter().enumerate() {
        g.set_value(s.params().at(i * 7), v);
    }
    let saved = SavedStateDict::capture(&s, &g).unwrap();
    let text = saved.to_json();
    let back = SavedStateDict::from_json(&text).unwrap();
    assert_eq!(saved.first_difference(&back), None);

    let (mut g2, s2) = build(&config, &mut ChaChaInit::new(10));
    back.load_into(&s2, &mut g2).unwrap();
    for (a, b) in g.values(s.params()).iter().zip(g2.values(s2.params())) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}

#[test]
fn loads_that_do_not_match_name_the_tensor() {
    let config = ModelConfig::reference(27);
    let (mut g, s) = build(&config, &mut ChaChaInit::new(1));
    let good = SavedStateDict::capture(&s, &g).unwrap();

    let mut renamed = good.clone();
    renamed.tensors[4].name = "layer0.attn_wx".into();
    let err = renamed.load_into(&s, &mut g).unwrap_err();
    assert!(err.to_string().contains("layer0.attn_wk"), "{err}");

    let mut reshaped = good.clone();
    reshaped.tensors[7].shape = vec![16, 64];
    let err = reshaped.load_into(&s, &mut g).unwrap_err();
    assert!(
        matches!(&err, Error::TensorShape { name, .. } if name == "layer0.mlp_fc1"),
        "{err}"
    );

    let mut short = good.clone();
    short.tensors[1].values.pop();
    let err = short.load_into(&s, &mut g).unwrap_err();
    assert!(err.to_string().contains("`wpe`"), "{err}");

    let mut missing = good.clone();
    missing.tensors.pop();
    let err = missing.load_into(&s, &mut g).unwrap_err();
    assert!(err.to_string().contains("layer0.mlp_fc2"), "{err}");

    let mut other_model = good.clone();
    other_model.config.n_embd = 32;
    let err = other_model.load_into(&s, &mut g).unwrap_err();
    assert!(
        err.to_string().contains("n_embd is 32 there, 16 here"),
        "{err}"
    );

    let err = SavedStateDict::from_json("{\"format\": \"microgpt-state-dict\", \"version\": 1")
        .unwrap_err();
    assert!(err.to_string().contains("EOF"), "{err}");
    let err =
        SavedStateDict::from_json(&good.to_json().replace("\"version\": 1", "\"version\": 9"))
            .unwrap_err();
    assert!(err.to_string().contains("version 9"), "{err}");

    // A failed load writes nothing.
    let before = g.values(s.params()).to_vec();
    let mut half_bad = good.clone();
    for v in &mut half_bad.tensors[0].values {
        *v = 7.0;
    }
    half_bad.tensors[8].shape = vec![1, 1];
    assert!(half_bad.load_into(&s, &mut g).is_err());
    assert_eq!(g.values(s.params()), &before[..]);
}

#[test]
fn non_finite_values_are_refused_with_their_place() {
    let config = ModelConfig::reference(27);
    let (mut g, s) = build(&config, &mut ChaChaInit::new(1));
    let wpe = s.tensor(TensorName::Wpe).span;
    g.set_value(wpe.at(5), f64::NAN);
    let err = SavedStateDict::capture(&s, &g).unwrap_err();
    assert!(
        err.to_string().contains("`wpe`") && err.to_string().contains("index 5"),
        "{err}"
    );
}

#[test]
fn an_f32_state_dict_holds_the_f64_draws_rounded_and_saves_and_loads_them_exactly() {
    let config = ModelConfig::reference(27);
    let (g64, s64) = build(&config, &mut ChaChaInit::new(42));
    let mut g32 = autograd::Graph::<f32>::empty(autograd::Arith::Fast);
    let s32 = StateDict::new(&mut g32, &config, &mut ChaChaInit::new(42)).unwrap();
    let (wide, narrow) = (g64.values(s64.params()), g32.values(s32.params()));
    assert!(wide.iter().zip(narrow).all(|(&w, &n)| w as f32 == n));
    // Not the f64 values themselves: the rounding is real.
    assert!(wide.iter().zip(narrow).any(|(&w, &n)| w != f64::from(n)));
    let saved = SavedStateDict::capture(&s32, &g32).unwrap();
    let mut back = autograd::Graph::<f32>::empty(autograd::Arith::Fast);
    let s = StateDict::new(&mut back, &config, &mut ChaChaInit::new(7)).unwrap();
    saved.load_into(&s, &mut back).unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(back.values(s.params())), bits(narrow));
}
