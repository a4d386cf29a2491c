"""RescueOps: operations and resources for Red Cross emergency rescue teams."""
