from layerwise import demo


def test_plain_gradient_descent_demo_reaches_95_percent_on_digits():
    train_accuracy, test_accuracy = demo.run()
    assert test_accuracy >= 0.95 and train_accuracy >= test_accuracy
