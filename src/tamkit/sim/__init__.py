"""Physics simulator of quantum-dot films and of the microscope that images them."""
