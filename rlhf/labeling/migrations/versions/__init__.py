"""The label store's migrations, oldest first."""
