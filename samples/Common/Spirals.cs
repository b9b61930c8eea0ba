using Frugal.Data;
using Frugal.Tensors;

namespace Frugal.Samples;

/// <summary>Interleaved spirals, one arm per class: data a program makes itself, held in a <see cref="TensorDataset"/>.</summary>
public static class Spirals
{
    public static TensorDataset Make(int perClass, int classes = 3, ulong seed = 0)
    {
        var g = new Generator(seed);
        var points = new float[perClass * classes * 2];
        var labels = new int[perClass * classes];
        for (int c = 0, i = 0; c < classes; c++)
            for (int j = 0; j < perClass; j++, i++)
            {
                double r = (double)j / perClass, angle = 2 * Math.PI * c / classes + 4 * r + 0.2 * (g.NextDouble() - 0.5);
                points[2 * i] = (float)(r * Math.Cos(angle));
                points[2 * i + 1] = (float)(r * Math.Sin(angle));
                labels[i] = c;
            }
        return new TensorDataset(points, [2], labels);
    }
}
