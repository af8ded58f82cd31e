"""Channel adapters: each turns its framework's updates into `Inbound` and renders `Reply`."""
