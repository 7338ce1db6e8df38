"""One primary Hydra config per published experiment (installed as justrl.recipes)."""
