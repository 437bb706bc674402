"""Supply–demand figures (求人倍率) and transfer flows, computed into snapshots and served from them."""
