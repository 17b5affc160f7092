from sparsesnn.testing import fuzz


def test_parsers_survive_ten_thousand_inputs_each():
    report = fuzz.run(10_000, seed=1)
    for name, r in report.items():
        assert r["crashes"] == [], (name, r["crashes"][:5])
        assert r["parsed"] > 0 and r["rejected"] > 0  # the fuzzer reaches both outcomes
        assert r["seconds"] < 120
