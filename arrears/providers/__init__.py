"""SMS and email providers behind one small interface, called through their official SDKs."""
