"""Running Arrears like operations do: the local Prefect stack and its failure automations."""
