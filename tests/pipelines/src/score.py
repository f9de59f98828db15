def init():
    pass


def run(mini_batch):
    return [str(item) for item in mini_batch]
