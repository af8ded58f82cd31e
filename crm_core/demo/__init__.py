"""The demo business: a believable Vietnamese office-furniture seller, its customers and pipeline."""

from crm_core.demo.seed import DemoSummary, demo_data, seed_demo

__all__ = ["DemoSummary", "demo_data", "seed_demo"]
