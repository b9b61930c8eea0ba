using Frugal.Methods.OutputHeads;
using Frugal.Options;
using Frugal.Training;

namespace Frugal.Runs;

/// <summary>The run config's output head (METHODS.md §4.2): what the model's output is trained against.</summary>
public sealed partial record TrainOptions
{
    /// <summary>The output head and its loss; null = softmax cross-entropy (with <see cref="LabelSmoothing"/>).</summary>
    public HeadOptions? Head { get; init; }

    void ValidateHead()
    {
        if (Head == null) return;
        OptionException.InSection("head", Head.Validate);
        OptionException.Require(Head.Kind == HeadKind.Softmax || LabelSmoothing == 0, "label_smoothing",
            $"applies to the softmax head only (head is {EnumNames<HeadKind>.Name(Head.Kind)}); leave it at 0");
    }

    /// <summary>The training objective: the head's loss, or softmax cross-entropy without a head section.</summary>
    public LossFunction CreateLoss() => Head == null ? LossFunctions.CrossEntropy(LabelSmoothing) : OutputHead.Loss(Head, LabelSmoothing);
}
