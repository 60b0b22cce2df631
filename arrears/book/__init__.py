"""The loan book: reading and validating the CSV files, and loading them."""
