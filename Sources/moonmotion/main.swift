print("moonmotion: not built yet")
