using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Squared L2 norms of the slices of a tensor along one axis, in one pass: column norms ‖X[:,i]‖² of a matrix
/// (axis 1), channel norms ‖I[:,c]‖²_F of an image batch (axis 1), per-example norms (axis 0). Column-row
/// sampling (METHODS.md §2) weighs the terms of a product by these.
/// </summary>
public static class SliceNorms
{
    /// <summary>y[i] = Σ x[…, i, …]² over every axis but <paramref name="axis"/>; y has shape [x.Shape[axis]].</summary>
    public static Tensor SquaredNorms(this Tensor x, int axis) => new SquaredNormsFn().Forward(x, axis);

    sealed class SquaredNormsFn : Function
    {
        Tensor _x = null!;
        int _axis;

        public Tensor Forward(Tensor x, int axis)
        {
            int ax = x.Shape.Axis(axis, "squared_norms");
            var y = Tensor.Uninitialized(new Shape(x.Shape[ax]), x.Device);
            x.Backend.SliceSquaredNorms(x, x.Shape.Prod(0, ax), x.Shape[ax], x.Shape.Prod(ax + 1, x.Rank), y);
            if (NeedsGrad(x)) { _x = x; _axis = ax; }
            return Record(y, x);
        }

        // ∂y[i]/∂x[…, i, …] = 2·x[…, i, …]: g broadcast along every other axis, times 2x.
        public override Tensor?[] Backward(Tensor g)
        {
            var dims = new int[_x.Rank];
            Array.Fill(dims, 1);
            dims[_axis] = _x.Shape[_axis];
            var gx = Tensor.Uninitialized(_x.Shape, g.Device);
            g.Backend.Zip(BinaryOp.Mul, _x, g.View(new Shape(dims)), gx);
            g.Backend.Map(UnaryOp.Affine, gx, gx, 2f, 0f);
            return [gx];
        }
    }
}
