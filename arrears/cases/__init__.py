"""What happens to a delinquent loan beyond the reminder ladder: promises, disputes,
call queues and escalation to legal (pure rules; the stores hold the rows)."""
